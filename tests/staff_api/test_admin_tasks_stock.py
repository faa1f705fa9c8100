"""The staff admin over tasks and stock: complete and cancel actions, audited overrides, stock
that only the logged operations change, and pages that render with real rows."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from inventory.models import Inventory, InventoryChange
from tasks_app.admin import TaskAdmin
from tasks_app.models import Task, TaskStatus
from tenancy.models import Role
from tests.helpers.coffee_shop import seed_shop
from tests.helpers.tenancy import make_tenant
from vendista.models import Terminal

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> tuple[Client, object]:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client, user


def test_a_service_member_completes_a_restock_task_through_the_real_completion():
    shop = seed_shop(make_tenant().owner, marker="Адм")
    service = make_tenant(Role.SERVICE, owner=shop.owner)
    client = Client()
    client.force_login(service.user)
    auto, _visit = shop.objects["tasks"]
    Terminal.objects.filter(pk=auto.terminal_id).update(sales_since_cleaning=42)
    url = f"/admin/tasks_app/task/{auto.pk}/complete/"
    page = client.get(url)
    assert page.status_code == 200 and "Кофе" in page.content.decode()
    # Still critical: the acceptance rule refuses it, nothing changes.
    refused = client.post(url, {"item:Кофе": "100"})
    assert refused.status_code == 200
    auto.refresh_from_db()
    assert auto.status == TaskStatus.PENDING
    done = client.post(url, {"item:Кофе": "1400"})
    assert done.status_code == 302
    auto.refresh_from_db()
    assert (auto.status, auto.completed_by_id) == (TaskStatus.COMPLETED, service.user.pk)
    assert InventoryChange.objects.filter(
        terminal_id=auto.terminal_id, source="restock_task", item_name="Кофе", quantity_after=1400
    ).exists()
    assert Terminal.objects.get(pk=auto.terminal_id).sales_since_cleaning == 0
    # The old override that closed a task without a stock entry is gone.
    assert "complete_tasks" not in TaskAdmin.actions


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
