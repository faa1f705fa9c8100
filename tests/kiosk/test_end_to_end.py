"""The whole DEV flow over HTTP with a real Celery worker over the real Redis."""

from __future__ import annotations

import io
import re
import time

import pytest
from django.test import Client
from pypdf import PdfReader

from audit.models import AuditEntry
from core.pii import EMAIL_RE, PHONE_RE
from kiosk.models import Session
from notifications.models import OutboxMessage
from reports.models import Report
from tests.helpers.kiosk import DIAGNOSTICS, make_kiosk, metric_value, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EMAIL = "ivan.petrov@mail.ru"
PHONE = "+79161234567"


def _metrics(client: Client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.content.decode()


def test_dev_flow_session_payment_report_delivery(
    celery_worker, redis_client, settings, tmp_path, caplog
) -> None:
    settings.MEDIA_ROOT = tmp_path
    caplog.set_level("INFO")
    web = Client()
    before = _metrics(web)
    k = make_kiosk()

    # 1. the kiosk starts a session
    response = k.client.post(
        "/api/sessions",
        {
            "type": "diagnostics",
            "contact": {"email": EMAIL, "phone": "+7 916 123-45-67"},
            "metadata": {"vehicleMake": "Toyota", "vehicleModel": "Camry"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    session = response.json()
    assert session["status"] == "active"
    assert session["contact"] == {"email": EMAIL, "phone": PHONE}

    # 2. ... and a payment intent: the DEV emulator confirms it about 2 s later
    created = time.monotonic()  # before the intent (and its countdown) exist
    response = k.client.post(
        "/api/payments/intent",
        {"session_id": session["id"], "amount": 48000, "currency": "RUB"},
        format="json",
    )
    assert response.status_code == 201, response.content
    intent = response.json()
    assert intent["status"] == "pending"
    assert intent["provider"] == "dev"
    assert intent["qr_code_data"]

    def paid() -> dict | None:
        body = k.client.get(f"/api/payments/status/{intent['id']}").json()
        return body if body["status"] == "succeeded" else None

    status_doc = wait_for(paid, timeout=15, interval=0.25)
    elapsed = time.monotonic() - created
    assert 1.5 <= elapsed <= 8, f"confirmed after {elapsed:.1f}s, expected about 2s"
    assert set(status_doc) == {"id", "status", "amount", "currency", "qr_code_data", "expires_at"}

    # 3. the kiosk posts the diagnostics results: 202, the PDF is made and sent by the worker
    response = k.client.post(
        "/api/reports/diagnostics", {"session_id": session["id"], **DIAGNOSTICS}, format="json"
    )
    assert response.status_code == 202, response.content
    report_id = response.json()["id"]

    def delivered() -> dict | None:
        body = k.client.get(f"/api/reports/{report_id}").json()
        return body if body["status"] == "delivered" else None

    report_doc = wait_for(delivered, timeout=60, interval=0.5)
    assert {d["channel"]: d["status"] for d in report_doc["deliveries"]} == {
        "email": "sent",
        "sms": "sent",
    }

    # The PDF: A4, Cyrillic text and the DTC codes, DejaVu embedded.
    report = Report.objects.get(pk=report_id)
    assert str(report.file.name).startswith("reports/")
    pdf_bytes = report.file.read()
    pdf = PdfReader(io.BytesIO(pdf_bytes))
    text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    assert "Отчёт о компьютерной диагностике автомобиля" in text
    assert "P0420" in text and "P0301" in text
    assert "Toyota Camry" in text
    assert "АвтоПроверка" in text
    width, height = float(pdf.pages[0].mediabox.width), float(pdf.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    fonts = {
        str(font["/BaseFont"])
        for page in pdf.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index]
    }
    # Only our @font-face (DejaVu from reports/static) is embedded: no system fallback font.
    assert fonts and all("VK-Sans" in name for name in fonts), fonts

    # The signed link works without credentials and serves the same PDF.
    link = report_doc["download_url"]
    path = link.removeprefix(settings.PUBLIC_BASE_URL)
    download = web.get(path)
    assert download.status_code == 200
    assert download.getvalue() == pdf_bytes
    assert web.get(path[:-3] + "xyz").status_code == 404  # tampered signature

    # E-mail with the PDF attached and SMS with the link, in the DEV outbox.
    email = OutboxMessage.objects.get(channel="email", recipient=EMAIL)
    assert email.attachments[0]["mimetype"] == "application/pdf"
    assert email.attachments[0]["size"] == len(pdf_bytes)
    sms = OutboxMessage.objects.get(channel="sms", recipient=PHONE)
    # Links are signed with a timestamp, so each message carries its own; each must serve the
    # same PDF.
    for message in (email, sms):
        found = re.search(
            re.escape(settings.PUBLIC_BASE_URL) + r"/reports/download/\S+", message.text
        )
        assert found, message.text
        sent = web.get(found.group(0).removeprefix(settings.PUBLIC_BASE_URL))
        assert sent.status_code == 200 and sent.getvalue() == pdf_bytes

    # 4. the session completes; a second completion is a clear 409
    response = k.client.post(f"/api/sessions/{session['id']}/complete")
    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert Session.objects.get(pk=session["id"]).completed_at is not None
    again = k.client.post(f"/api/sessions/{session['id']}/complete")
    assert again.status_code == 409
    assert again.json()["code"] == "session_completed"

    # Metrics moved (counted in the web process and in the worker's threads).
    after = _metrics(web)
    for name, labels in [
        ("sessions_created_total", {"type": "diagnostics"}),
        ("sessions_completed_total", {"type": "diagnostics"}),
        ("payments_intents_total", {}),
        ("payments_confirmed_total", {"provider": "dev"}),
        ("diagnostics_scans_total", {}),
        ("reports_generated_total", {"kind": "diagnostics"}),
        ("reports_delivered_total", {"channel": "email"}),
        ("reports_delivered_total", {"channel": "sms"}),
    ]:
        assert metric_value(after, name, **labels) == metric_value(before, name, **labels) + 1, name
    assert metric_value(after, "diagnostics_dtc_found_total") == (
        metric_value(before, "diagnostics_dtc_found_total") + 2
    )
    assert metric_value(after, "payments_duration_seconds_count", status="succeeded") >= 1

    # Audit rows of every critical step, with masked contacts.
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "session.created",
        "payment.created",
        "payment.confirmed",
        "report.requested",
        "report.generated",
        "report.delivered",
        "session.completed",
    } <= actions
    created_row = AuditEntry.objects.get(action="session.created", object_id=session["id"])
    assert created_row.actor_kind == "kiosk"
    assert created_row.summary["email"] == "i***@mail.ru"
    assert created_row.summary["phone"] == "+7******4567"

    # No log line of the whole flow carries the contacts unmasked.
    for line in caplog.messages + [r.getMessage() for r in caplog.records]:
        assert not EMAIL_RE.search(line) or "***@" in line, line
        assert EMAIL not in line and PHONE not in line, line
        assert not PHONE_RE.search(line), line
