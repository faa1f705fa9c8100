"""Thickness report content, signed link expiry, admin resend, unpaid sessions refused."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from audit.models import AuditEntry
from kiosk.models import Session
from notifications.models import Delivery
from reports import services
from reports.models import Report
from tests.helpers.kiosk import THICKNESS, make_kiosk, paid_session

pytestmark = pytest.mark.django_db


def test_thickness_report_has_verdicts_by_threshold(redis_client, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    k = make_kiosk()
    session = paid_session(k)
    response = k.client.post(
        "/api/reports/thickness", {"session_id": str(session.pk), **THICKNESS}, format="json"
    )
    assert response.status_code == 202, response.content
    assert services.generate(response.json()["id"]).status == "generated"
    report = Report.objects.get(pk=response.json()["id"])
    assert report.status == "generated"
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(report.file.read())).pages).split()
    )
    assert "Капот 118 заводское покрытие" in text
    assert "Передняя левая дверь 240 перекрашено" in text
    assert "Крыша 520 шпаклёвка" in text
    assert services.generate(report.pk).status == "skipped"  # a re-run does nothing again


def test_signed_link_expires(redis_client, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.REPORTS_LINK_TTL_S = 3600
    k = make_kiosk()
    report = Report.objects.create(session=paid_session(k), kind="thickness", data=THICKNESS)
    services.generate(report.pk)
    report.refresh_from_db()
    path = services.download_url(report).removeprefix(settings.PUBLIC_BASE_URL)
    assert Client().get(path).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert Client().get(path).status_code == 404


def test_unpaid_or_wrong_kind_session_gets_no_report(redis_client) -> None:
    k = make_kiosk()
    session = Session.objects.create(
        kiosk=k.kiosk,
        type="diagnostics",
        contact_email="a@b.ru",
        ttl_ms=60_000,
        expires_at=timezone.now() + timedelta(minutes=1),
    )
    body = {"session_id": str(session.pk), "dtc_codes": []}
    assert k.client.post("/api/reports/diagnostics", body, format="json").status_code == 409
    paid = paid_session(k, "thickness")
    body = {"session_id": str(paid.pk), "dtc_codes": []}
    assert k.client.post("/api/reports/diagnostics", body, format="json").status_code == 409
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("status", "claimed_ago_s"),
    [("permanently_failed", None), ("failed", None), ("queued", None), ("sending", 3600)],
)
def test_admin_resend_requeues_failed_pending_and_stuck_deliveries_and_is_audited(
    redis_client, client, django_capture_on_commit_callbacks, status: str, claimed_ago_s: int | None
) -> None:
    k = make_kiosk()
    report = Report.objects.create(
        session=paid_session(k), kind="thickness", data=THICKNESS, status="failed"
    )
    claimed_at = timezone.now() - timedelta(seconds=claimed_ago_s) if claimed_ago_s else None
    delivery = Delivery.objects.create(
        channel="sms",
        recipient="+79161234567",
        template="report_sms",
        text="x",
        group_key="g1",
        source=services.delivery_source(report.pk),
        status=status,
        claimed_at=claimed_at,
        next_attempt_at=timezone.now() + timedelta(hours=1) if status == "failed" else None,
        last_error="x",
    )
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/reports/report/",
            {"action": "resend", "_selected_action": [str(report.pk)]},
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.claimed_at, delivery.next_attempt_at) == (
        "queued",
        None,
        None,
    )
    assert delivery.enqueued_at is not None  # handed to the queue at once, not at the next sweep
    assert Report.objects.get(pk=report.pk).status == "pending"
    entry = AuditEntry.objects.get(action="report.resend")
    assert entry.actor_user == admin


def test_resend_leaves_a_delivery_being_sent_now_alone(redis_client) -> None:
    k = make_kiosk()
    report = Report.objects.create(session=paid_session(k), kind="thickness", data=THICKNESS)
    delivery = Delivery.objects.create(
        channel="sms",
        recipient="+79161234567",
        template="report_sms",
        text="x",
        group_key="g2",
        source=services.delivery_source(report.pk),
        status="sending",
        claimed_at=timezone.now(),
    )
    services.resend(report, actor=services.SYSTEM)
    delivery.refresh_from_db()
    assert delivery.status == "sending"


def test_a_report_whose_worker_died_on_every_attempt_is_failed_by_the_sweep(
    redis_client, settings
) -> None:
    k = make_kiosk()
    lapsed = timezone.now() - timedelta(minutes=10)
    dying = Report.objects.create(
        session=paid_session(k),
        kind="thickness",
        data=THICKNESS,
        generation_attempts=settings.REPORTS_MAX_GENERATION_ATTEMPTS,
        lease_until=lapsed,
        enqueued_at=lapsed,
    )
    retried = Report.objects.create(
        session=paid_session(k),
        kind="thickness",
        data=THICKNESS,
        generation_attempts=1,
        lease_until=lapsed,
        enqueued_at=lapsed,
    )

    assert services.sweep_reports() == 1  # the one with attempts left is queued again

    dying.refresh_from_db()
    assert (dying.status, dying.failed_stage) == ("failed", "generate")
    assert "lost on every attempt" in dying.error
    assert AuditEntry.objects.filter(action="report.failed", object_id=str(dying.pk)).exists()
    retried.refresh_from_db()
    assert retried.status == "pending"
    assert retried.enqueued_at is not None and retried.enqueued_at > lapsed
    assert redis_client.llen("reports") == 1
