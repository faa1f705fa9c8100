"""The kiosk screen's page and the endpoints made for it, without a browser: `/kiosk/` is served
in Russian with no secret in it; the QR image and the cancel endpoint are kiosk-token only and
scoped to the calling kiosk's own intents."""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import segno
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEntry
from kiosk.demo import DEMO_KIOSK_TOKEN
from kiosk.models import Session
from payments.models import PaymentIntent
from sandboxes.yookassa import YooKassaSandbox
from tests.helpers.kiosk import KioskClient, make_kiosk, paid_session
from tests.helpers.tenancy import make_tenant

pytestmark = pytest.mark.django_db


def _json_block(html: str, element_id: str):
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html)
    assert found, f"no #{element_id} block"
    return json.loads(found.group(1))


def _intent(k: KioskClient, **fields) -> PaymentIntent:
    session = Session.objects.create(
        kiosk=k.kiosk,
        type="diagnostics",
        contact_email="client@example.com",
        ttl_ms=60_000,
        expires_at=timezone.now() + timedelta(minutes=1),
    )
    values = {
        "amount": 48000,
        "provider": "dev",
        "status": "pending",
        "qr_code_data": f"http://127.0.0.1:8000/dev-pay/{uuid.uuid4()}?sum=48000",
        "expires_at": timezone.now() + timedelta(minutes=15),
        **fields,
    }
    return PaymentIntent.objects.create(
        session=session, idempotency_key=f"vk-intent-{uuid.uuid4()}", **values
    )


# --- The page ------------------------------------------------------------------------------


def test_kiosk_screen_is_russian_whatever_the_browser_asks_and_holds_no_secret(
    client: Client,
) -> None:
    make_kiosk()
    response = client.get("/kiosk/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="ru">' in html
    assert "Проверьте автомобиль за несколько минут" in html
    assert "Куда отправить отчёт?" in html
    strings = _json_block(html, "kiosk-strings")
    assert strings["network_lost"] == "Нет связи, повторяем…"
    assert strings["pay_title"] == "Оплатите {amount} по QR-коду"
    # The page needs no credential and carries none: the token lives in the kiosk's browser.
    assert DEMO_KIOSK_TOKEN not in html and "Kiosk " not in html
    assert "csrfmiddlewaretoken" not in html
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"


def test_kiosk_screen_speaks_english_when_asked(client: Client) -> None:
    html = client.get("/kiosk/?lang=en").content.decode()
    assert '<html lang="en">' in html
    assert "Check your car in a few minutes" in html
    assert _json_block(html, "kiosk-strings")["network_lost"] == "No connection. Retrying…"
    # An unknown language falls back to Russian.
    assert '<html lang="ru">' in client.get("/kiosk/?lang=xx").content.decode()


def test_every_ui_string_has_a_russian_translation(client: Client) -> None:
    english = _json_block(client.get("/kiosk/?lang=en").content.decode(), "kiosk-strings")
    russian = _json_block(client.get("/kiosk/").content.decode(), "kiosk-strings")
    assert english.keys() == russian.keys()
    untranslated = [key for key in english if english[key] == russian[key]]
    assert not untranslated
    for key, text in russian.items():
        # the script fills exactly the placeholders the English source has
        assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", english[key])), key


def test_dev_samples_are_in_the_page_in_dev_only(client: Client, settings) -> None:
    samples = _json_block(client.get("/kiosk/").content.decode(), "kiosk-dev-samples")
    assert {dtc["code"] for dtc in samples["diagnostics"]["dtc_codes"]} >= {"P0420", "P0301"}
    assert len(samples["thickness"]["readings"]) >= 10

    settings.IS_PROD = True
    assert _json_block(client.get("/kiosk/").content.decode(), "kiosk-dev-samples") is None


def test_dev_samples_are_accepted_by_the_report_endpoints(client: Client, redis_client) -> None:
    samples = _json_block(client.get("/kiosk/").content.decode(), "kiosk-dev-samples")
    k = make_kiosk()
    for kind in ("diagnostics", "thickness"):
        session = paid_session(k, kind)
        response = k.client.post(
            f"/api/reports/{kind}", {"session_id": str(session.pk), **samples[kind]}, format="json"
        )
        assert response.status_code == 202, response.content


def test_kiosk_screen_script_and_styles_are_served(client: Client) -> None:
    for path, kind in (("kiosk/kiosk.js", "javascript"), ("kiosk/kiosk.css", "css")):
        response = client.get(f"/static/{path}")
        assert response.status_code == 200, path
        assert kind in response["Content-Type"]
    font = client.get("/static/reports/fonts/DejaVuSans.ttf")  # the stylesheet's font
    assert font.status_code == 200


def test_kiosk_me_tells_the_screen_its_timeouts(redis_client, settings) -> None:
    settings.KIOSK_UI_IDLE_SECONDS = 45
    k = make_kiosk()
    body = k.client.get("/api/kiosk/me").json()
    assert body["settings"]["idle_timeout_s"] == 45
    assert body["settings"]["auto_reset_on_timeout"] is True
    assert body["prices"] == {"diagnostics": 48000, "thickness": 30000}


# --- QR image --------------------------------------------------------------------------------


def test_qr_image_encodes_the_intents_qr_data(redis_client) -> None:
    k = make_kiosk()
    intent = _intent(k)

    response = k.client.get(f"/api/payments/qr/{intent.pk}")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert "no-store" in response["Cache-Control"]
    svg = response.content.decode()
    assert svg.lstrip().startswith("<svg") or svg.startswith("<?xml")
    expected = io.BytesIO()
    segno.make(intent.qr_code_data, error="m").save(
        expected, kind="svg", scale=1, border=4, dark="#000", light="#fff", omitsize=True
    )
    assert svg == expected.getvalue().decode()


def test_qr_image_needs_the_kiosks_own_token(redis_client) -> None:
    k, other = make_kiosk(), make_kiosk()
    intent = _intent(k)

    assert APIClient().get(f"/api/payments/qr/{intent.pk}").status_code == 401
    assert other.client.get(f"/api/payments/qr/{intent.pk}").status_code == 404
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Kiosk not-a-token")
    assert wrong.get(f"/api/payments/qr/{intent.pk}").status_code == 401


def test_qr_image_is_409_until_the_psp_gives_qr_data(redis_client) -> None:
    k = make_kiosk()
    waiting = _intent(k, qr_code_data="")

    response = k.client.get(f"/api/payments/qr/{waiting.pk}")
    assert (response.status_code, response.json()["code"]) == (409, "qr_not_ready")

    # A closed intent's code is no secret (the intent shows its data): it is still drawn.
    paid = _intent(k, status="succeeded")
    assert k.client.get(f"/api/payments/qr/{paid.pk}").status_code == 200


def test_owner_staff_may_see_the_qr_of_their_kiosks_only(redis_client) -> None:
    tenant = make_tenant()
    k = make_kiosk(owner=tenant.owner)
    intent = _intent(k)
    staff = tenant.client
    assert staff.get(f"/api/payments/qr/{intent.pk}").status_code == 200

    stranger_intent = _intent(make_kiosk())
    assert staff.get(f"/api/payments/qr/{stranger_intent.pk}").status_code == 404


# --- Cancel ------------------------------------------------------------------------------------


def test_cancel_closes_a_pending_intent_and_is_audited_as_the_kiosk(redis_client) -> None:
    k = make_kiosk()
    intent = _intent(k, provider_payment_id=f"dev-{uuid.uuid4()}")

    response = k.client.post(f"/api/payments/cancel/{intent.pk}")

    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    intent.refresh_from_db()
    assert (intent.status, intent.failure_reason) == ("canceled", "canceled_by_kiosk")
    entry = AuditEntry.objects.get(action="payment.cancel_requested", object_id=str(intent.pk))
    assert entry.actor_kind == "kiosk"
    # Safe to repeat: a closed intent stays as it is.
    again = k.client.post(f"/api/payments/cancel/{intent.pk}")
    assert (again.status_code, again.json()["status"]) == (200, "canceled")
    assert AuditEntry.objects.filter(action="payment.cancel_requested").count() == 1


def test_cancel_past_the_intents_expiry_marks_it_expired(redis_client) -> None:
    k = make_kiosk()
    intent = _intent(k, expires_at=timezone.now() - timedelta(seconds=1))

    response = k.client.post(f"/api/payments/cancel/{intent.pk}")

    assert response.json()["status"] == "expired"
    intent.refresh_from_db()
    assert (intent.status, intent.failure_reason) == ("expired", "expired")


def test_cancel_leaves_a_paid_intent_paid(redis_client) -> None:
    k = make_kiosk()
    intent = _intent(k, status="succeeded")
    response = k.client.post(f"/api/payments/cancel/{intent.pk}")
    assert (response.status_code, response.json()["status"]) == (200, "succeeded")


def test_cancel_is_for_the_kiosk_itself(redis_client) -> None:
    tenant = make_tenant()
    k, other = make_kiosk(owner=tenant.owner), make_kiosk()
    intent = _intent(k)

    assert APIClient().post(f"/api/payments/cancel/{intent.pk}").status_code == 401
    assert other.client.post(f"/api/payments/cancel/{intent.pk}").status_code == 404
    assert tenant.client.post(f"/api/payments/cancel/{intent.pk}").status_code == 403
    intent.refresh_from_db()
    assert intent.status == "pending"


@pytest.fixture
def yookassa(settings) -> Iterator[YooKassaSandbox]:
    box = YooKassaSandbox().start()
    settings.PAYMENTS_PROVIDER = "yookassa"
    settings.YOOKASSA_SHOP_ID = "123456"
    settings.YOOKASSA_SECRET_KEY = "test_sandbox_secret"
    settings.YOOKASSA_API_URL = box.api_url
    settings.YOOKASSA_HTTP_TIMEOUT_S = 2
    yield box
    box.stop()


def test_cancel_of_a_payment_the_psp_took_at_the_last_second_confirms_it(
    yookassa, redis_client
) -> None:
    k = make_kiosk()
    session = k.client.post(
        "/api/sessions",
        {"type": "diagnostics", "contact": {"email": "client@example.com"}},
        format="json",
    ).json()
    intent = k.client.post(
        "/api/payments/intent", {"session_id": session["id"]}, format="json"
    ).json()
    yookassa.set_status(intent["provider_payment_id"], "succeeded")

    response = k.client.post(f"/api/payments/cancel/{intent['id']}")

    # The client paid: the kiosk goes on to the service instead of leaving them charged.
    assert response.json()["status"] == "succeeded"
    row = PaymentIntent.objects.get(pk=intent["id"])
    assert row.status == "succeeded" and row.refund_status == ""
