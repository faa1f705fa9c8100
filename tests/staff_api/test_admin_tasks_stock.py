"""The staff admin over tasks and stock: complete and cancel actions, audited overrides, stock
that only the logged operations change, and pages that render with real rows."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from audit.models import AuditEntry
from inventory.models import Inventory
from tasks_app.models import Task, TaskStatus
from tests.helpers.coffee_shop import seed_shop
from tests.helpers.tenancy import make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> tuple[Client, object]:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client, user


def test_complete_action_closes_open_tasks_and_audits_the_override(staff):
    client, user = staff
    shop = seed_shop(make_tenant().owner, marker="Адм")
    auto, visit = shop.objects["tasks"]
    Task.objects.filter(pk=visit.pk).update(status=TaskStatus.CANCELLED)
    response = client.post(
        "/admin/tasks_app/task/",
        {"action": "complete_tasks", "_selected_action": [auto.pk, visit.pk]},
        follow=True,
    )
    assert response.status_code == 200
    auto.refresh_from_db()
    visit.refresh_from_db()
    assert (auto.status, auto.completed_by_id) == (TaskStatus.COMPLETED, user.pk)
    assert visit.status == TaskStatus.CANCELLED  # finished tasks are left alone
    entry = AuditEntry.objects.get(action="task.closed_by_staff")
    assert (entry.object_id, entry.owner_id) == (str(auto.pk), shop.owner.pk)


def test_cancel_action_cancels_only_open_tasks(staff):
    client, _user = staff
    shop = seed_shop(make_tenant().owner, marker="Адм")
    auto, visit = shop.objects["tasks"]
    client.post(
        "/admin/tasks_app/task/",
        {"action": "cancel_tasks", "_selected_action": [auto.pk, visit.pk]},
        follow=True,
    )
    assert set(Task.objects.values_list("status", flat=True)) == {TaskStatus.CANCELLED}


def test_stock_is_read_only_in_the_admin(staff):
    client, _user = staff
    shop = seed_shop(make_tenant().owner, marker="Адм")
    row = Inventory.objects.filter(owner=shop.owner, location="warehouse").first()
    assert row is not None
    page = client.get(f"/admin/inventory/inventory/{row.pk}/change/")
    assert page.status_code == 200
    assert b'name="current_stock"' not in page.content
    for url in (
        "/admin/tasks_app/task/",
        "/admin/inventory/inventory/",
        "/admin/inventory/recipe/",
        f"/admin/tasks_app/task/{shop.objects['tasks'][0].pk}/change/",
        f"/admin/inventory/recipe/{shop.objects['recipes'][0].pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
