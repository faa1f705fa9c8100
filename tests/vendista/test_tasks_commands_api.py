"""Celery tasks on a real worker, the operator commands and the staff-only API."""

from __future__ import annotations

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEntry
from core.clock import MOSCOW, moscow_today
from sandboxes.vendista import VendistaSandbox, generate_account
from tasks_app.models import Task, TaskStatus
from tasks_app.services import hide_finished_tasks
from tests.vendista.coffee import configure, connect_owner, sync
from tests.vendista.conftest import LAST_DAY
from vendista import tasks
from vendista.models import (
    ImportRun,
    PaymentStatus,
    RunStatus,
    Terminal,
    Transaction,
    VendistaAccount,
)
from vendista.services import runs as vendista_runs


@pytest.mark.worker
@pytest.mark.wall_clock
@pytest.mark.django_db(transaction=True)
def test_beat_tick_queues_one_import_per_owner_and_the_worker_runs_it(
    celery_worker, vendista_settings
):
    # Sales on both Moscow days the tick's window (the last 24 hours) touches: whatever the
    # hour, it holds a whole day's selling hours (07:00-23:00), yesterday's or today's.
    since, until = vendista_runs.window_for("last_24h")
    first_day, today = since.astimezone(MOSCOW).date(), until.astimezone(MOSCOW).date()
    shops = [
        generate_account(
            f"tick-{n}",
            f"pw-{n}",
            seed=f"tick{n}",
            terminals=2,
            per_day=50,
            start=first_day,
            end=today,
        )
        for n in range(2)
    ]
    with VendistaSandbox(accounts=shops) as server:
        vendista_settings.VENDISTA_API_URL = server.url
        owners = [connect_owner(shop, name=shop.login) for shop in shops]
        suspended = connect_owner(
            generate_account("tick-x", "pw", seed="x", days=1, end=today), name="unpaid"
        )
        VendistaAccount.objects.filter(owner=suspended).update(
            payment_status=PaymentStatus.PAYMENT_REQUIRED
        )

        first = tasks.schedule_imports.delay(window="last_24h", trigger="schedule_15min")
        second = tasks.schedule_imports.delay(window="last_24h", trigger="schedule_15min")
        counts = [first.get(timeout=30), second.get(timeout=30)]

        deadline = time.monotonic() + 60
        runs = ImportRun.objects.filter(kind="import", owner__in=owners)
        while runs.exclude(status=RunStatus.SUCCEEDED).exists() and time.monotonic() < deadline:
            time.sleep(0.2)

    assert sum(c["queued"] for c in counts) == 2  # the second tick found both still active
    assert runs.count() == 2 and not runs.exclude(status=RunStatus.SUCCEEDED).exists()
    for owner in owners:
        assert Transaction.objects.filter(owner=owner).exists()
    skipped = ImportRun.objects.filter(owner=suspended, status=RunStatus.SKIPPED)
    assert skipped.count() == 2
    assert all("payment required" in run.error for run in skipped)


@pytest.mark.django_db
def test_import_transactions_command_prints_progress_and_summary(sandbox, shop):
    owner = connect_owner(shop)
    sync(owner)
    configure(owner)
    out, err = StringIO(), StringIO()

    call_command(
        "import_transactions",
        owner=owner.pk,
        date_from=str(LAST_DAY - timedelta(days=2)),
        date_to=str(LAST_DAY),
        stdout=out,
        stderr=err,
    )

    assert "page 4/4" in err.getvalue()
    summary = out.getvalue()
    assert "succeeded" in summary and f"inserted      {len(shop.transactions)}" in summary
    deducted = Transaction.objects.filter(deduction_state="deducted").count()
    assert f"deducted      {deducted}" in summary


@pytest.mark.django_db
def test_import_transactions_command_rejects_bad_input(sandbox, shop):
    owner = connect_owner(shop)
    with pytest.raises(CommandError, match="not an ISO date"):
        call_command(
            "import_transactions", owner=owner.pk, date_from="yesterday", date_to="2026-11-20"
        )
    with pytest.raises(CommandError, match="after"):
        call_command(
            "import_transactions", owner=owner.pk, date_from="2026-11-21", date_to="2026-11-20"
        )
    with pytest.raises(CommandError, match="no Vendista connection"):
        call_command("import_transactions", owner=999, date_from="2026-11-20", date_to="2026-11-20")


@pytest.mark.django_db
def test_historical_command_does_not_deduct(sandbox, shop):
    owner = connect_owner(shop)
    sync(owner)
    configure(owner)
    call_command(
        "import_transactions",
        owner=owner.pk,
        date_from="2026-11-18",
        date_to="2026-11-20",
        historical=True,
        stdout=StringIO(),
        stderr=StringIO(),
    )
    assert not Transaction.objects.filter(deduction_state="deducted").exists()
    assert Transaction.objects.filter(deduction_state="historical").exists()


@pytest.mark.django_db
def test_sync_terminals_command(sandbox, shop):
    owner = connect_owner(shop)
    out = StringIO()
    call_command("sync_terminals", owner=owner.pk, stdout=out)
    assert f"{len(shop.terminals)} listed" in out.getvalue()


@pytest.mark.django_db
def test_reset_payment_status_is_staff_only_and_audited(sandbox, shop):
    owner = connect_owner(shop)
    VendistaAccount.objects.filter(owner=owner).update(
        payment_status=PaymentStatus.PAYMENT_REQUIRED, payment_required_at=timezone.now()
    )
    user_model = get_user_model()
    staff = user_model.objects.create_user("ops", password="x", is_staff=True)
    member = user_model.objects.create_user("someone", password="x")
    client = APIClient()
    url = "/api/auth/reset-payment-status"

    assert client.post(url, {"owner_id": owner.pk}, format="json").status_code == 401
    client.force_authenticate(member)
    assert client.post(url, {"owner_id": owner.pk}, format="json").status_code == 403
    client.force_authenticate(staff)
    assert client.post(url, {}, format="json").status_code == 400
    assert client.post(url, {"owner_id": "x"}, format="json").status_code == 400
    assert client.post(url, {"owner_id": 99999}, format="json").status_code == 404
    response = client.post(url, {"owner_id": owner.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["owner"] == {
        "id": owner.pk,
        "name": owner.name,
        "payment_status": "active",
    }
    account = VendistaAccount.objects.get(owner=owner)
    assert account.payment_status == "active" and account.payment_required_at is None
    entry = AuditEntry.objects.get(action="vendista.payment_status_reset")
    assert entry.actor_user == staff and entry.owner_id == owner.pk


@pytest.mark.wall_clock
@pytest.mark.django_db
def test_finished_tasks_are_hidden_after_midnight_and_kept(sandbox, shop):
    owner = connect_owner(shop)
    sync(owner)
    terminals = list(Terminal.objects.filter(owner=owner))
    now = timezone.now()
    yesterday = now - timedelta(days=1)
    done_before = Task.objects.create(
        owner=owner, terminal=terminals[0], status=TaskStatus.COMPLETED, completed_at=yesterday
    )
    done_today = Task.objects.create(
        owner=owner, terminal=terminals[1], status=TaskStatus.COMPLETED, completed_at=now
    )
    open_task = Task.objects.create(owner=owner, terminal=terminals[2])

    assert hide_finished_tasks(now) == 1
    assert hide_finished_tasks(now) == 0  # re-running changes nothing

    assert Task.objects.count() == 3
    assert Task.objects.get(pk=done_before.pk).hidden_at is not None
    assert Task.objects.get(pk=done_today.pk).hidden_at is None
    assert Task.objects.get(pk=open_task.pk).hidden_at is None


def test_every_coffee_schedule_is_defined_in_moscow_time():
    from config.beat import SCHEDULE

    expected = {
        "vendista-import-15min": ("*/15", "*", "*"),
        "vendista-terminal-sync-15min": ("*/15", "*", "*"),
        "vendista-import-daily": ("0", "3", "*"),
        "vendista-import-weekly": ("0", "5", "0"),
        "vendista-payment-check": ("0", "4", "*"),
        "tasks-hide-finished": ("59", "23", "*"),
    }
    for name, (minute, hour, weekday) in expected.items():
        schedule = SCHEDULE[name]["schedule"]
        assert str(schedule.tz) == "Europe/Moscow", name
        assert schedule._orig_minute == minute, name
        assert schedule._orig_hour == hour, name
        assert str(schedule._orig_day_of_week) in (weekday, "sun" if weekday == "0" else weekday)
    assert SCHEDULE["vendista-import-daily"]["kwargs"]["window"] == "previous_day_and_today"
    assert SCHEDULE["vendista-import-weekly"]["kwargs"]["window"] == "last_7_days"


@pytest.mark.worker
@pytest.mark.wall_clock
@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_owner_never_overlap(celery_worker, vendista_settings):
    vendista_settings.VENDISTA_BUSY_RETRY_SECONDS = 0.5
    # The two days before today: wholly inside both windows (the last 7 days, the history),
    # at any hour; today's sales would still lie in the future before 07:00.
    yesterday = moscow_today() - timedelta(days=1)
    shop = generate_account(
        "lock-shop", "pw", seed="lock", terminals=2, days=2, per_day=300, end=yesterday
    )
    with VendistaSandbox(accounts=[shop]) as server:
        server.set_faults(latency_s=0.05)
        vendista_settings.VENDISTA_API_URL = server.url
        owner = connect_owner(shop)
        first = vendista_runs.enqueue(
            owner.pk, window_kind="last_7_days", trigger="test", skip_if_active=False
        )
        second = vendista_runs.enqueue(
            owner.pk, window_kind="history", mode="historical", trigger="test", skip_if_active=False
        )
        runs = ImportRun.objects.filter(pk__in=[first, second])
        deadline = time.monotonic() + 90
        while runs.exclude(status=RunStatus.SUCCEEDED).exists() and time.monotonic() < deadline:
            time.sleep(0.2)

    assert all(run.status == RunStatus.SUCCEEDED for run in runs)
    spans = sorted(
        (run.started_at, run.finished_at, run.pages_done)
        for run in runs
        if run.started_at is not None and run.finished_at is not None
    )
    assert len(spans) == 2
    (_, first_end, first_pages), (second_start, _, second_pages) = spans
    assert first_pages > 1 and second_pages > 1
    # The second started only after the first had finished: the owner's lock held it back.
    assert second_start >= first_end
