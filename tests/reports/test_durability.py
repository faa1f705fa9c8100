"""Reports and their deliveries are rows in PostgreSQL; Redis only carries them. A Redis flush
under running workers, a lost message or a SIGKILLed worker delays a report by one lease and a
sweep — it is generated and delivered once, never lost.

Real `celery worker` subprocesses on the test database and Redis; the DEV e-mail/SMS channels
keep every message they "send" in the outbox table (counted per recipient), the SMSC sandbox
stands in for SMS where a send must be held in flight. The sweep is queued here as beat queues it
every minute; the workers run with short leases (seconds, production: minutes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from core.tasks import sweep_due_work
from notifications.models import Delivery, OutboxMessage
from notifications.services import sweep_pending
from notifications.tasks import deliver_message
from reports.models import Report
from reports.services import report_deliveries
from reports.tasks import generate_report
from sandboxes.smsc import SmscSandbox
from tests.helpers.kiosk import DIAGNOSTICS, THICKNESS, KioskClient, make_kiosk, paid_session
from tests.helpers.kiosk import wait_for as _wait_for
from tests.helpers.smsc import SMSC_LOGIN, SMSC_PASSWORD
from tests.helpers.worker import WorkerProcess, worker_environment

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LEASE = 5  # seconds a render or a send is claimed for, in these workers


@pytest.fixture
def env(tmp_path, settings, redis_client) -> dict[str, str]:
    settings.MEDIA_ROOT = tmp_path
    return worker_environment(
        MEDIA_ROOT=str(tmp_path),
        EMAIL_PROVIDER="dev",
        SMS_PROVIDER="dev",
        REPORTS_GENERATION_LEASE_SECONDS=str(LEASE),
        TELEGRAM_SENDING_LEASE_SECONDS=str(LEASE),
        TELEGRAM_REQUEUE_AFTER_SECONDS=str(LEASE),
    )


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.kill()


def _start(workers: list[WorkerProcess], env: dict[str, str], queues: str) -> WorkerProcess:
    worker = WorkerProcess(env, queues=queues, pool="threads", concurrency=2).start()
    workers.append(worker)
    return worker


def _request(k: KioskClient, kind: str = "thickness") -> Report:
    session = paid_session(k, kind, email=f"c{Report.objects.count()}@example.com")
    body = THICKNESS if kind == "thickness" else DIAGNOSTICS
    response = k.client.post(
        f"/api/reports/{kind}", {"session_id": str(session.pk), **body}, format="json"
    )
    assert response.status_code == 202, response.content
    return Report.objects.get(pk=response.json()["id"])


def _sweep_until(done: Callable[[], Any], timeout: float = 90.0) -> Any:
    def check() -> Any:
        sweep_due_work.delay()  # what beat queues every minute
        return done()

    return _wait_for(check, timeout=timeout, interval=1.0)


def _messages_per_recipient() -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for channel, recipient in OutboxMessage.objects.values_list("channel", "recipient"):
        counts[(channel, recipient)] = counts.get((channel, recipient), 0) + 1
    return counts


def test_reports_queued_before_a_redis_flush_are_generated_and_delivered_once(
    env, workers, redis_client
) -> None:
    # A worker runs the sweeps and sends, but nothing renders yet: the reports' messages wait.
    _start(workers, env, "default,notifications")
    k = make_kiosk()
    reports = [_request(k) for _ in range(3)]
    assert redis_client.llen("reports") >= 3
    redis_client.flushdb()  # Redis lost everything under the running worker

    _start(workers, env, "reports")
    _sweep_until(lambda: Report.objects.filter(status="delivered").count() == 3)

    for report in reports:
        rows = report_deliveries(report.pk)
        assert sorted(rows.values_list("channel", "status")) == [
            ("email", "sent"),
            ("sms", "sent"),
        ]
    # Each report's e-mail and SMS went out exactly once.
    counts = _messages_per_recipient()
    assert len(counts) == 4  # three addresses, one phone number shared by the sessions
    assert [counts[("email", f"c{i}@example.com")] for i in range(3)] == [1, 1, 1]
    assert counts[("sms", "+79161234567")] == 3


def test_deliveries_queued_before_a_redis_flush_are_sent_once(env, workers, redis_client) -> None:
    # Reports render; their e-mail and SMS wait in the notifications queue nobody consumes.
    _start(workers, env, "default,reports")
    k = make_kiosk()
    reports = [_request(k) for _ in range(2)]
    _wait_for(lambda: Report.objects.filter(status="generated").count() == 2, timeout=60)
    _wait_for(lambda: redis_client.llen("notifications") == 4)
    redis_client.flushdb()
    assert set(Delivery.objects.values_list("status", flat=True)) == {"queued"}

    _start(workers, env, "notifications")
    _sweep_until(lambda: Report.objects.filter(status="delivered").count() == 2)

    assert set(Delivery.objects.values_list("status", "attempts")) == {("sent", 1)}
    assert OutboxMessage.objects.count() == 4
    assert {r.pk for r in reports} == set(
        Report.objects.filter(status="delivered").values_list("pk", flat=True)
    )


def test_a_report_whose_worker_was_killed_mid_render_is_generated_within_the_lease(
    env, workers, redis_client
) -> None:
    env = {**env, "REPORTS_GENERATION_LEASE_SECONDS": "30"}  # a long render fits, even under load
    # A long report (hundreds of codes, many pages) so the kill lands while it renders.
    k = make_kiosk()
    session = paid_session(k, "diagnostics", email="long@example.com")
    codes = [
        {"code": f"P{i:04d}", "description": "Неисправность " * 8, "severity": "high"}
        for i in range(400)
    ]
    report = Report.objects.create(session=session, kind="diagnostics", data={"dtc_codes": codes})
    first = _start(workers, env, "reports")
    generate_report.delay(report_id=str(report.pk))
    _wait_for(lambda: Report.objects.get(pk=report.pk).lease_until is not None, timeout=60)
    first.kill()
    claimed = Report.objects.get(pk=report.pk)
    assert (claimed.status, claimed.file.name) == ("pending", "")
    # Its message waits in Redis's unacked set for the visibility timeout (an hour): the
    # lapsed lease and the sweep, not that redelivery, bring the report back.
    assert redis_client.hlen("unacked") == 1

    _start(workers, env, "default,reports,notifications")
    _sweep_until(lambda: Report.objects.get(pk=report.pk).status == "delivered", timeout=120)

    report.refresh_from_db()
    assert report.generation_attempts == 2
    assert _messages_per_recipient() == {
        ("email", "long@example.com"): 1,
        ("sms", "+79161234567"): 1,
    }


@pytest.fixture
def smsc_env(env) -> Iterator[tuple[dict[str, str], SmscSandbox]]:
    with SmscSandbox(login=SMSC_LOGIN, password=SMSC_PASSWORD) as smsc:
        yield (
            {
                **env,
                "SMS_PROVIDER": "smsc",
                "SMSC_LOGIN": SMSC_LOGIN,
                "SMSC_PASSWORD": SMSC_PASSWORD,
                "SMSC_API_URL": smsc.url + "/",
                "SMS_TIMEOUT": "30",
            },
            smsc,
        )


def test_two_workers_handed_one_delivery_send_it_once(smsc_env, workers, redis_client) -> None:
    env, smsc = smsc_env
    smsc.delay = 3.0  # SMSC takes the message, then answers slowly: both tasks overlap
    k = make_kiosk()
    session = paid_session(k, email="")
    response = k.client.post(
        "/api/reports/thickness", {"session_id": str(session.pk), **THICKNESS}, format="json"
    )
    report_id = response.json()["id"]
    _start(workers, env, "reports")
    _wait_for(lambda: report_deliveries(report_id).exists(), timeout=60)
    delivery = report_deliveries(report_id).get()
    # The same delivery handed out twice (a redelivered message, a sweep racing the queue).
    deliver_message.delay(delivery_id=delivery.pk)
    _start(workers, env, "notifications")
    _wait_for(lambda: Report.objects.get(pk=report_id).status == "delivered", timeout=60)

    assert len(smsc.sent()) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)


def test_a_worker_killed_between_send_and_mark_sends_at_most_once_more(
    smsc_env, workers, redis_client
) -> None:
    env, smsc = smsc_env
    smsc.delay = 10.0  # SMSC has the message; its answer never reaches the worker
    k = make_kiosk()
    session = paid_session(k, email="")
    response = k.client.post(
        "/api/reports/thickness", {"session_id": str(session.pk), **THICKNESS}, format="json"
    )
    report_id = response.json()["id"]
    first = _start(workers, env, "reports,notifications")
    _wait_for(lambda: len(smsc.calls) == 1, timeout=60)
    first.kill()
    (delivery,) = report_deliveries(report_id)
    assert (delivery.status, delivery.attempts) == ("sending", 1)  # claimed, sent, not recorded
    assert sweep_pending() == 0  # while its claim lives, nobody sends it again

    smsc.delay = 0.0
    _start(workers, env, "default,notifications")
    _sweep_until(lambda: Report.objects.get(pk=report_id).status == "delivered")

    # SMSC takes no idempotency key: the claimed send is repeated once its lease lapsed.
    assert len(smsc.sent()) == 2
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_a_worker_starting_after_an_outage_sweeps_at_once(env, workers, redis_client) -> None:
    k = make_kiosk()
    report = _request(k)
    redis_client.flushdb()
    # The outage lasted longer than the lease: the report's message is long overdue.
    Report.objects.filter(pk=report.pk).update(enqueued_at=timezone.now() - timedelta(hours=1))

    _start(workers, env, "default,reports,notifications")
    # No beat here: only the worker's own start-up sweep can bring the report back.
    _wait_for(lambda: Report.objects.get(pk=report.pk).status == "delivered", timeout=90)
    assert OutboxMessage.objects.count() == 2
