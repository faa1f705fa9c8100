"""Coffee-side metrics at the web's /metrics: what an import against the Vendista sandbox counts
(requests by endpoint and status, pages, transactions, refreshes, 402s), and the fleet figures
read at scrape time (import lag, owners in payment_required, active runs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from tenancy.models import Owner
from tests.helpers.kiosk import metric_value
from tests.vendista.coffee import connect_owner, sync, window
from tests.vendista.conftest import LAST_DAY
from vendista import tasks
from vendista.models import ImportRun, RunKind, RunStatus, VendistaAccount
from vendista.services import lock, recovery, runs

pytestmark = pytest.mark.django_db
LAST_DAY_WINDOW = window(LAST_DAY - timedelta(days=2), LAST_DAY)


def scrape(client: Client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.content.decode()


class Delta:
    """Samples of /metrics now, compared with a later scrape."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.before = scrape(client)

    def __call__(self, name: str, **labels: str) -> float:
        after = scrape(self.client)
        return metric_value(after, name, **labels) - metric_value(self.before, name, **labels)


def test_an_import_counts_its_requests_pages_and_transactions(client, sandbox) -> None:
    owner = connect_owner(sandbox.account("shop-login"))
    sync(owner)
    sandbox.reset_request_log()
    delta = Delta(client)

    summary = runs.run_now(owner.pk, window=LAST_DAY_WINDOW, trigger="test")

    assert summary.status == "succeeded"
    pages = len(sandbox.request_log("/transactions"))
    assert summary.pages == pages > 1
    assert delta("vendista_requests_total", endpoint="/transactions", status="200") == pages
    assert delta("vendista_import_pages_total") == pages
    assert delta("vendista_import_transactions_fetched_total") == summary.fetched > 0
    assert delta("vendista_import_transactions_inserted_total") == summary.inserted > 0
    assert (
        delta("vendista_runs_finished_total", kind="import", status="succeeded") == 1
    )  # and the sync before it was counted as a sync
    assert delta("vendista_token_refreshes_total") == 0


def test_an_expired_token_is_refreshed_and_counted(client, sandbox) -> None:
    owner = connect_owner(sandbox.account("shop-login"))
    sync(owner)
    sandbox.expire_tokens("shop-login")
    delta = Delta(client)

    summary = runs.run_now(owner.pk, window=LAST_DAY_WINDOW, trigger="test")

    assert summary.status == "succeeded"
    assert delta("vendista_token_refreshes_total") == 1
    assert delta("vendista_requests_total", endpoint="/transactions", status="401") == 1
    assert delta("vendista_requests_total", endpoint="/token", status="200") == 1


def test_a_402_suspends_the_owner_and_shows_in_the_gauge(client, sandbox) -> None:
    owner = connect_owner(sandbox.account("shop-login"))
    sync(owner)
    assert metric_value(scrape(client), "vendista_owners_payment_required") == 0
    assert metric_value(scrape(client), "vendista_importable_owners") == 1
    sandbox.set_unpaid("shop-login")
    delta = Delta(client)

    summary = runs.run_now(owner.pk, window=LAST_DAY_WINDOW, trigger="test")

    assert summary.status == "failed"
    assert delta("vendista_requests_total", endpoint="/transactions", status="402") == 1
    assert delta("vendista_owners_suspended_total") == 1
    assert delta("vendista_runs_finished_total", kind="import", status="failed") == 1
    text = scrape(client)
    assert metric_value(text, "vendista_owners_payment_required") == 1
    assert metric_value(text, "vendista_importable_owners") == 0


def test_server_errors_and_unanswered_requests_have_their_own_status(client, sandbox) -> None:
    owner = connect_owner(sandbox.account("shop-login"))
    sync(owner)
    sandbox.fail_next("/transactions", status=503, times=2)
    delta = Delta(client)

    summary = runs.run_now(owner.pk, window=LAST_DAY_WINDOW, trigger="test")

    assert summary.status == "succeeded"  # retried past the two 503s
    assert delta("vendista_requests_total", endpoint="/transactions", status="5xx") == 2


T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _importable(name: str) -> Owner:
    owner = Owner.objects.create(name=name)
    VendistaAccount.objects.create(owner=owner, login_encrypted="x", token_encrypted="y")
    return owner


def _succeeded(owner: Owner, end: datetime, **fields: Any) -> ImportRun:
    return ImportRun.objects.create(
        owner=owner,
        kind=RunKind.IMPORT,
        trigger="test",
        date_from=end - timedelta(hours=24),
        date_to=end,
        status=fields.pop("status", RunStatus.SUCCEEDED),
        **fields,
    )


def test_import_lag_is_the_time_since_the_end_of_the_last_imported_window(client, settings) -> None:
    with time_machine.travel(T0 - timedelta(days=2), tick=False):
        fresh, stale, never = _importable("fresh"), _importable("stale"), _importable("never")
    _succeeded(fresh, T0 - timedelta(minutes=10))
    _succeeded(stale, T0 - timedelta(hours=3))
    # A later failed run and a running one do not count as imported windows.
    _succeeded(stale, T0 - timedelta(minutes=1), status=RunStatus.FAILED)
    _succeeded(stale, T0, status=RunStatus.RUNNING)
    suspended = _importable("suspended")  # not imported by the schedules: no lag
    VendistaAccount.objects.filter(owner=suspended).update(payment_status="payment_required")
    settings.METRICS_PER_OWNER_MAX = 3

    with time_machine.travel(T0, tick=False):
        text = scrape(client)

    assert metric_value(text, "vendista_importable_owners") == 3
    # Never imported: counted from the connection, two days ago.
    assert metric_value(text, "vendista_import_lag_max_seconds") == 2 * 86400
    lagging = {
        over: metric_value(text, "vendista_owners_import_lagging", over=over)
        for over in ("900", "3600", "21600", "86400")
    }
    assert lagging == {"900": 2, "3600": 2, "21600": 1, "86400": 1}
    per_owner = {
        owner.name: metric_value(text, "vendista_owner_import_lag_seconds", owner_id=str(owner.pk))
        for owner in (fresh, stale, never)
    }
    assert per_owner == {"fresh": 600, "stale": 3 * 3600, "never": 2 * 86400}
    assert metric_value(text, "vendista_runs_active", kind="import", state="running") == 1
    assert metric_value(text, "vendista_runs_active", kind="import", state="queued") == 0
    assert metric_value(text, "vendkiosk_collector_up", collector="vendista") == 1

    # A fleet larger than the cap: the aggregates only, no owner label.
    settings.METRICS_PER_OWNER_MAX = 2
    with time_machine.travel(T0, tick=False):
        text = scrape(client)
    assert "vendista_owner_import_lag_seconds" not in text
    assert metric_value(text, "vendista_import_lag_max_seconds") == 2 * 86400


def test_a_busy_owner_counts_a_lock_wait_and_a_stalled_run_a_resumption(
    client, settings, redis_client, django_capture_on_commit_callbacks
) -> None:
    settings.VENDISTA_BUSY_RETRY_SECONDS = 1
    owner = _importable("busy")
    run = ImportRun.objects.create(
        owner=owner, kind=RunKind.IMPORT, trigger="test", date_from=T0, date_to=T0
    )
    delta = Delta(client)
    with lock.owner_lock(owner.pk, "someone-else"), pytest.raises(lock.OwnerBusy):
        # The task's body called directly: where a worker would schedule the retry, Celery
        # re-raises the cause.
        tasks.execute_run.run(run_id=run.pk)
    assert delta("vendista_lock_waits_total") == 1

    stalled = datetime.now(UTC) - runs.stale_after() - timedelta(minutes=1)
    ImportRun.objects.filter(pk=run.pk).update(heartbeat_at=stalled)
    with django_capture_on_commit_callbacks(execute=False):
        assert recovery.resume_stalled_runs() == {"resumed": 1, "failed": 0}
    assert delta("vendista_runs_resumed_total", kind="import") == 1
    text = scrape(client)
    assert metric_value(text, "vendista_runs_active", kind="import", state="queued") == 1
