"""The migration that moves report deliveries into the one delivery log: finished rows keep
their state, attempts and error; a generated report with a pending row goes back to `pending`
(its PDF kept), so the sweep records the missing delivery the way a new report gets it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.helpers.kiosk import make_kiosk, paid_session

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("reports", "0001_initial")]
AFTER = [("reports", "0002_generation_lease_and_one_delivery_log")]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_report_deliveries_move_into_the_delivery_log() -> None:
    k = make_kiosk()
    sent_session = paid_session(k, email="a@example.com", phone="+79161234567")
    waiting_session = paid_session(k, email="b@example.com", phone="")
    session_ids = (sent_session.pk, waiting_session.pk)

    old = _migrate(BEFORE)
    try:
        Report = old.get_model("reports", "Report")
        ReportDelivery = old.get_model("reports", "ReportDelivery")
        done = Report.objects.create(
            session_id=session_ids[0], kind="thickness", status="failed", file="reports/a.pdf"
        )
        ReportDelivery.objects.create(
            report=done,
            channel="email",
            recipient="a@example.com",
            status="sent",
            attempts=2,
            provider_id="<m1@x>",
        )
        ReportDelivery.objects.create(
            report=done,
            channel="sms",
            recipient="+79161234567",
            status="failed",
            attempts=5,
            last_error="SMSC error 8",
        )
        waiting = Report.objects.create(
            session_id=session_ids[1], kind="thickness", status="generated", file="reports/b.pdf"
        )
        ReportDelivery.objects.create(
            report=waiting, channel="email", recipient="b@example.com", status="pending"
        )
    finally:
        new = _migrate(AFTER)

    Delivery = new.get_model("notifications", "Delivery")
    rows = {
        (d.source, d.channel): d
        for d in Delivery.objects.filter(source__startswith="report:").order_by("channel")
    }
    assert set(rows) == {(f"report:{done.pk}", "email"), (f"report:{done.pk}", "sms")}
    email, sms = rows[(f"report:{done.pk}", "email")], rows[(f"report:{done.pk}", "sms")]
    assert (email.status, email.attempts, email.provider_id) == ("sent", 2, "<m1@x>")
    assert (sms.status, sms.attempts, sms.last_error) == ("permanently_failed", 5, "SMSC error 8")
    assert email.dedup_key == f"report:{done.pk}:email"
    assert email.owner_id == k.kiosk.owner_id

    NewReport = new.get_model("reports", "Report")
    reopened = NewReport.objects.get(pk=waiting.pk)
    assert (reopened.status, reopened.file, reopened.enqueued_at) == (
        "pending",
        "reports/b.pdf",
        None,
    )
    assert NewReport.objects.get(pk=done.pk).status == "failed"
