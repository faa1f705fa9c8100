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
from reports import services
from reports.models import Report, ReportDelivery
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
    assert services.generate(response.json()["id"]) is True
    report = Report.objects.get(pk=response.json()["id"])
    assert report.status == "generated"
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(report.file.read())).pages).split()
    )
    assert "Капот 118 заводское покрытие" in text
    assert "Передняя левая дверь 240 перекрашено" in text
    assert "Крыша 520 шпаклёвка" in text
    assert services.generate(report.pk) is False  # re-run keeps the stored PDF


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


def test_admin_resend_requeues_failed_deliveries_and_is_audited(redis_client, client) -> None:
    k = make_kiosk()
    report = Report.objects.create(
        session=paid_session(k), kind="thickness", data=THICKNESS, status="failed"
    )
    ReportDelivery.objects.create(
        report=report, channel="sms", recipient="+79161234567", status="failed", last_error="x"
    )
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    response = client.post(
        "/admin/reports/report/",
        {"action": "resend", "_selected_action": [str(report.pk)]},
    )
    assert response.status_code == 302
    assert ReportDelivery.objects.get(report=report).status == "pending"
    assert Report.objects.get(pk=report.pk).status == "pending"
    entry = AuditEntry.objects.get(action="report.resend")
    assert entry.actor_user == admin
