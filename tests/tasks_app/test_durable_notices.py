"""Notices are written in the transaction of the change they tell about: a process that dies
between the commit and its after-commit hooks loses no notice — the rows are there, and the
minute sweep queues them.

"Dies between commit and hook" is the state these tests inspect: the change is made, its
after-commit hooks are captured and never run (as when the process is killed right after
COMMIT), and the delivery rows must already exist.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F

from core import sweeps
from notifications.models import Delivery
from tasks_app import services
from tasks_app.models import Task
from tenancy.models import Owner, Role
from tests.helpers.telegram import ADMIN_CHAT, chat_of, make_person, make_terminal
from vendista.models import PaymentStatus, VendistaAccount
from vendista.services import accounts

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    owner = Owner.objects.create(name="Дельта")
    return {
        "owner": owner,
        "boss": make_person(owner, Role.OWNER, name="Анна"),
        "service": make_person(owner, Role.SERVICE, name="Виктор"),
        "terminal": make_terminal(owner, "Вокзал"),
    }


def _recover_with_the_sweep(redis_client) -> None:
    """What happens after the restart: the sweep finds the rows whose queue message never went
    out (older than the re-queue delay) and hands them to the queue."""
    Delivery.objects.update(created_at=F("created_at") - timedelta(minutes=10))
    assert sweeps.run_all()["notifications.deliveries"] >= 1
    assert not Delivery.objects.filter(enqueued_at__isnull=True).exists()
    assert redis_client.llen("notifications") >= 1


def test_task_notices_survive_a_death_between_commit_and_hook(
    team, redis_client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        task = services.create_manual_task(
            team["owner"].pk,
            team["terminal"].pk,
            task_type="restock",
            assignee_id=team["service"].pk,
            comment="Срочно",
            created_by_id=team["boss"].pk,
        )
    assignee_rows = Delivery.objects.filter(recipient=chat_of(team["service"]))
    assert [row.template for row in assignee_rows] == ["task_new_manual"]

    with django_capture_on_commit_callbacks(execute=False):
        services.cancel_task(task.pk, user_id=team["boss"].pk)
    assert sorted(assignee_rows.values_list("template", flat=True)) == [
        "task_cancelled",
        "task_new_manual",
    ]
    assert Task.objects.get(pk=task.pk).status == "cancelled"
    _recover_with_the_sweep(redis_client)


def test_task_completion_notice_survives_a_death_between_commit_and_hook(
    team, redis_client, django_capture_on_commit_callbacks
) -> None:
    task = Task.objects.create(
        owner=team["owner"], terminal=team["terminal"], task_type="service", is_auto=False
    )
    with django_capture_on_commit_callbacks(execute=False):
        services.complete_task(task.pk, {}, user_id=team["service"].pk)
    (row,) = Delivery.objects.filter(recipient=chat_of(team["boss"]))
    assert row.template == "task_completed" and row.status == "queued"
    _recover_with_the_sweep(redis_client)


def test_the_402_notice_survives_a_death_between_commit_and_hook(
    settings, redis_client, django_capture_on_commit_callbacks
) -> None:
    settings.ADMIN_TELEGRAM_CHAT_ID = ADMIN_CHAT
    owner = Owner.objects.create(name="Эпсилон")
    VendistaAccount.objects.create(owner=owner)
    with django_capture_on_commit_callbacks(execute=False):
        assert accounts.mark_payment_required(owner.pk, source="import", error="HTTP 402")
    (row,) = Delivery.objects.filter(recipient=ADMIN_CHAT)
    assert row.template == "payment_required" and "Эпсилон" in row.text
    assert VendistaAccount.objects.get(owner=owner).payment_status == PaymentStatus.PAYMENT_REQUIRED

    # The reactivation notice too.
    with django_capture_on_commit_callbacks(execute=False):
        assert accounts.reactivate(owner.pk)
    assert sorted(Delivery.objects.values_list("template", flat=True)) == [
        "owner_reactivated",
        "payment_required",
    ]
    _recover_with_the_sweep(redis_client)
