"""Import runs with leases: an interrupted run is resumed after its last committed page (never
abandoned, never blocking its owner), the owner lock is fenced, waits are bounded, runs can be
cancelled, and a run that keeps being interrupted raises an admin alert."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from notifications.models import AdminAlert
from tests.vendista.coffee import configure, connect_owner, sync, window
from tests.vendista.conftest import LAST_DAY
from vendista.client import VendistaClient, VendistaUnavailable
from vendista.models import ImportRun, RunStatus, Transaction
from vendista.services import recovery, runs
from vendista.services.lock import LeaseLost, OwnerBusy, OwnerLock

pytestmark = pytest.mark.django_db
FIRST_DAY = LAST_DAY - timedelta(days=2)
PAGE = 100  # vendista_settings: 100 rows a page; the shop has 360 rows (4 pages)


class Killed(BaseException):
    """The process dies here (what SIGKILL does to a foreground command, seen from the run)."""


@pytest.fixture
def owner(sandbox, shop):
    owner = connect_owner(shop)
    sync(owner)
    configure(owner)
    return owner


def kill_after_page(pages: int):
    def progress(run: ImportRun) -> None:
        if run.pages_done >= pages:
            raise Killed

    return progress


def age(run_id: int, seconds: float) -> None:
    """Time passes without a heartbeat (the process that ran it is gone)."""
    ImportRun.objects.filter(pk=run_id).update(
        heartbeat_at=timezone.now() - timedelta(seconds=seconds)
    )


def queued_runs(redis_client) -> list[str]:
    return [
        json.loads(raw)["headers"]["kwargsrepr"] for raw in redis_client.lrange("imports", 0, -1)
    ]


def test_a_killed_import_resumes_after_its_last_committed_page(
    sandbox, shop, owner, redis_client, django_capture_on_commit_callbacks
):
    with pytest.raises(Killed):
        runs.run_now(
            owner.pk,
            window=window(FIRST_DAY, LAST_DAY),
            trigger="command",
            progress=kill_after_page(2),
        )
    run = ImportRun.objects.get(owner=owner, kind="import")
    # Left running (resumable), with two pages committed and the page to resume at.
    assert run.status == RunStatus.RUNNING and run.pages_done == 2 and run.next_page == 3
    assert Transaction.objects.filter(owner=owner).count() == 2 * PAGE

    age(run.pk, runs.stale_after().total_seconds() + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.resume_stalled_runs() == {"resumed": 1, "failed": 0}
    assert queued_runs(redis_client) == [f"{{'run_id': {run.pk}}}"]

    sandbox.reset_request_log()
    summary = runs.execute_run(run.pk)  # what the worker does with the queued task

    assert summary.status == RunStatus.SUCCEEDED
    pages = sorted(int(r.params["PageNumber"]) for r in sandbox.request_log("/transactions"))
    assert pages and min(pages) == 3, f"pages read again: {pages}"
    assert Transaction.objects.filter(owner=owner).count() == len(shop.transactions)
    run.refresh_from_db()
    assert run.fetched == len(shop.transactions) and run.attempts == 2


def test_an_interrupted_run_never_blocks_its_owner_and_is_never_abandoned(
    sandbox, shop, owner, redis_client, django_capture_on_commit_callbacks
):
    with pytest.raises(Killed):
        runs.run_now(
            owner.pk,
            window=window(FIRST_DAY, LAST_DAY),
            trigger="command",
            progress=kill_after_page(1),
        )
    run = ImportRun.objects.get(owner=owner, kind="import")
    age(run.pk, 2 * 3600)

    # The 15-minute tick resumes it instead of refusing or abandoning it.
    with django_capture_on_commit_callbacks(execute=True):
        assert runs.enqueue(owner.pk, window_kind="last_24h", trigger="schedule_15min") is None
    run.refresh_from_db()
    assert run.status in (RunStatus.QUEUED, RunStatus.RUNNING) and "abandoned" not in run.error
    assert queued_runs(redis_client) == [f"{{'run_id': {run.pk}}}"]
    # An operator asking for a window it does not cover is not refused.
    wider = window(FIRST_DAY - timedelta(days=3), LAST_DAY)
    assert runs.run_now(owner.pk, window=wider, trigger="command").status == RunStatus.SUCCEEDED


def crash_database_after_page(pages: int):
    """PostgreSQL drops the run's connection after `pages` pages (what a crash and restart
    does to it): the next page's statement fails, the server is back at once."""

    def progress(run: ImportRun) -> None:
        if run.pages_done == pages:
            backend = connection.connection.info.backend_pid

            def terminate() -> None:
                with connections["default"].cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
                connections.close_all()

            killer = threading.Thread(target=terminate)
            killer.start()
            killer.join()

    return progress


@pytest.mark.django_db(transaction=True)
def test_a_database_crash_mid_import_leaves_the_run_resumable_not_failed(
    sandbox, shop, owner, redis_client
):
    with pytest.raises(runs.DATABASE_GONE):
        runs.run_now(
            owner.pk,
            window=window(FIRST_DAY, LAST_DAY),
            trigger="command",
            progress=crash_database_after_page(1),
        )
    run = ImportRun.objects.get(owner=owner, kind="import")
    # It used to be failed here ("OperationalError: ...") and its window never imported.
    assert (run.status, run.error, run.pages_done, run.next_page) == (RunStatus.RUNNING, "", 1, 2)

    age(run.pk, runs.stale_after().total_seconds() + 1)
    assert recovery.resume_stalled_runs() == {"resumed": 1, "failed": 0}
    assert runs.execute_run(run.pk).status == RunStatus.SUCCEEDED
    assert Transaction.objects.filter(owner=owner).count() == len(shop.transactions)


def test_a_failed_operator_import_leaves_no_blocking_run(sandbox, shop, owner):
    sandbox.set_faults(error_rate=1.0)
    with pytest.raises(VendistaUnavailable):
        runs.run_now(owner.pk, window=window(FIRST_DAY, LAST_DAY), trigger="command")
    run = ImportRun.objects.get(owner=owner, kind="import")
    assert run.status == RunStatus.FAILED

    sandbox.reset_faults()
    assert runs.run_now(owner.pk, window=window(FIRST_DAY, LAST_DAY), trigger="command").status == (
        RunStatus.SUCCEEDED
    )


def test_the_owner_lock_is_extended_only_by_its_holder(owner, redis_client):
    first = OwnerLock(owner.pk, "run:1")
    first.acquire()
    redis_client.delete(first.key)  # its lease lapsed (a frozen process)
    second = OwnerLock(owner.pk, "run:2")
    second.acquire()
    redis_client.pexpire(second.key, 2000)

    assert first.extend() is False
    assert 0 < redis_client.pttl(second.key) <= 2000, "the late holder stretched another's lock"
    first.release()
    assert second.holder() == second.value
    with pytest.raises(OwnerBusy):
        first.acquire()
    assert second.extend() is True


def test_a_cancelled_run_stops_before_its_next_page_and_frees_the_owner(sandbox, shop, owner):
    def cancel_after_two_pages(run: ImportRun) -> None:
        if run.pages_done == 2:
            assert recovery.cancel_run(run.pk)

    with pytest.raises(LeaseLost):
        runs.run_now(
            owner.pk,
            window=window(FIRST_DAY, LAST_DAY),
            trigger="command",
            progress=cancel_after_two_pages,
        )
    run = ImportRun.objects.get(owner=owner, kind="import")
    assert run.status == RunStatus.CANCELLED and run.pages_done == 2
    assert Transaction.objects.filter(owner=owner).count() == 2 * PAGE
    assert recovery.cancel_run(run.pk) is False  # already finished
    # The owner's lock was released: the next run starts at once.
    assert runs.run_now(owner.pk, window=window(FIRST_DAY, LAST_DAY), trigger="command").status == (
        RunStatus.SUCCEEDED
    )


def test_a_long_retry_after_fails_fast_instead_of_outwaiting_the_lock(sandbox, shop, owner):
    sandbox.set_faults(rate_limit_per_s=0.01, retry_after_s=3600)
    slept: list[float] = []
    client = VendistaClient(
        base_url=sandbox.url,
        credentials=(shop.login, shop.password),
        rate_per_token=1000,
        rate_global=1000,
        max_attempts=5,
        backoff_base=0.01,
        max_wait=30,
        sleep=slept.append,
    )
    with pytest.raises(VendistaUnavailable, match="asked to wait 3600 s"):
        for _ in range(5):
            client.get_transactions_page(*window(FIRST_DAY, LAST_DAY), 1)
    assert all(delay <= 30 for delay in slept)
    client.close()


@pytest.mark.parametrize("attempts, status", [(3, "resumed"), (8, "failed")])
def test_a_run_that_keeps_being_interrupted_raises_an_admin_alert(
    owner, settings, redis_client, django_capture_on_commit_callbacks, attempts, status
):
    settings.VENDISTA_RUN_ALERT_ATTEMPTS = 3
    settings.VENDISTA_RUN_MAX_ATTEMPTS = 8
    run = runs.create_run(owner.pk, window=window(FIRST_DAY, LAST_DAY), trigger="command")
    assert run is not None
    ImportRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, attempts=attempts)
    age(run.pk, runs.stale_after().total_seconds() + 1)

    with django_capture_on_commit_callbacks(execute=True):
        counts = recovery.resume_stalled_runs()

    assert counts[status] == 1
    # The alert is a row written with the run's change (an outbox), not a message after it.
    alerts = list(AdminAlert.objects.filter(owner_id=owner.pk).values("context", "error"))
    assert [a["context"] for a in alerts] == ["vendista.import.interrupted"]
    assert f"run {run.pk}" in alerts[0]["error"]
    run.refresh_from_db()
    assert run.status == (RunStatus.FAILED if status == "failed" else RunStatus.RUNNING)
