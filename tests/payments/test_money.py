"""Kiosk money against the live server and the YooKassa sandbox over HTTP, with a real Celery
worker: one payable intent per session, server prices, hold and capture, release of a service
that never came, 54-FZ receipts and their alerts, refunds polled until final."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditEntry
from kiosk.models import Session
from kiosk.services import expire_sessions
from notifications.models import AdminAlert
from payments.models import FiscalSettings, PaymentIntent, ServicePrice
from payments.providers import get_provider
from payments.services import poll_intents, release_intent
from reports.models import Report
from sandboxes.yookassa import YooKassaSandbox
from tests.helpers.kiosk import DIAGNOSTICS, KioskClient, make_kiosk, metric_value, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

YOOKASSA_IP = "185.71.76.10"


@pytest.fixture
def sandbox(settings, tmp_path) -> Iterator[YooKassaSandbox]:
    box = YooKassaSandbox().start()
    settings.PAYMENTS_PROVIDER = "yookassa"
    settings.YOOKASSA_SHOP_ID = "123456"
    settings.YOOKASSA_SECRET_KEY = "test_sandbox_secret"
    settings.YOOKASSA_API_URL = box.api_url
    settings.YOOKASSA_HTTP_TIMEOUT_S = 2
    settings.MEDIA_ROOT = tmp_path
    settings.PAYMENTS_POLL_AFTER_S = 0
    yield box
    box.stop()


class Live:
    """The kiosk's HTTP calls to the live server."""

    def __init__(self, url: str, k: KioskClient) -> None:
        self.url = url
        self.k = k
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Kiosk {k.token}"

    def post(self, path: str, body: dict | None = None, **headers: str) -> requests.Response:
        return self.http.post(self.url + path, json=body, timeout=20, headers=headers)

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.url + path, timeout=20)

    def session(self, session_type: str = "diagnostics", **contact: str) -> dict:
        contact = contact or {"email": "client@example.com", "phone": "+79161234567"}
        response = self.post("/api/sessions", {"type": session_type, "contact": contact})
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
def live(live_server, redis_client) -> Iterator[Live]:
    live = Live(live_server.url, make_kiosk())
    yield live
    live.http.close()  # a kept-alive connection holds a server thread and its database connection


def _pay(live: Live, sandbox: YooKassaSandbox) -> tuple[dict, dict]:
    """A session and its intent, paid by the client (the money held at YooKassa) and learnt
    by the poller (the webhook path is tested in test_yookassa_sandbox and test_proxy)."""
    session = live.session()
    intent = live.post("/api/payments/intent", {"session_id": session["id"]}).json()
    sandbox.set_status(intent["provider_payment_id"], "succeeded")
    poll_intents()
    row = PaymentIntent.objects.get(pk=intent["id"])
    assert (row.status, row.capture_status) == ("succeeded", "held")
    status = live.get(f"/api/payments/status/{intent['id']}").json()
    assert status["status"] == "succeeded"  # the kiosk goes on with the service
    return session, intent


# --- One payable intent per session ------------------------------------------------------------


def test_concurrent_creates_leave_one_payable_intent(live, sandbox, celery_worker) -> None:
    session = live.session()
    answers: list[requests.Response] = []
    start = threading.Barrier(4)

    def create() -> None:
        start.wait()
        answers.append(live.post("/api/payments/intent", {"session_id": session["id"]}))

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 200, 200, 201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert PaymentIntent.objects.filter(session_id=session["id"]).count() == 1
    assert len(sandbox.state.payments) == 1


def test_the_database_refuses_a_second_payable_intent(live, sandbox) -> None:
    session = live.session()
    first = PaymentIntent.objects.get(
        pk=live.post("/api/payments/intent", {"session_id": session["id"]}).json()["id"]
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentIntent.objects.create(
            session_id=session["id"],
            amount=first.amount,
            provider="yookassa",
            idempotency_key="vk-intent-second",
            expires_at=first.expires_at,
        )


def test_a_paid_session_refuses_a_new_intent(live, sandbox) -> None:
    session, _intent = _pay(live, sandbox)
    response = live.post("/api/payments/intent", {"session_id": session["id"]})
    assert response.status_code == 409
    assert "paid" in response.json()["detail"]


# --- Prices and receipts -----------------------------------------------------------------------


def test_intent_amount_and_receipt_come_from_the_price_list_and_tax_settings(live, sandbox) -> None:
    owner = live.k.kiosk.owner
    FiscalSettings.objects.create(owner=owner, tax_system_code=1, vat_code=4)
    ServicePrice.objects.create(owner=owner, service_type="diagnostics", amount=55000)
    ServicePrice.objects.create(
        owner=owner,
        kiosk=live.k.kiosk,
        service_type="diagnostics",
        amount=61000,
        description="Компьютерная диагностика",
    )
    assert live.get("/api/kiosk/me").json()["prices"]["diagnostics"] == 61000
    session = live.session(email="client@example.com", phone="+79161234567")

    wrong = live.post("/api/payments/intent", {"session_id": session["id"], "amount": 100})
    assert wrong.status_code == 400 and "amount" in wrong.json()
    response = live.post("/api/payments/intent", {"session_id": session["id"]})
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == 61000

    sent = sandbox.requests("POST", "/v3/payments")[0].body
    assert sent["amount"] == {"value": "610.00", "currency": "RUB"}
    assert sent["capture"] is False
    # (the SDK writes the quantity its own way: "1.0")
    assert float(sent["receipt"]["items"][0].pop("quantity")) == 1
    assert sent["receipt"] == {
        "customer": {"email": "client@example.com", "phone": "79161234567"},
        "items": [
            {
                "description": "Компьютерная диагностика",
                "amount": {"value": "610.00", "currency": "RUB"},
                "vat_code": 4,
                "payment_subject": "service",
                "payment_mode": "full_payment",
            }
        ],
        "tax_system_code": 1,
    }


def _pending_alerts(redis_client) -> list[dict]:
    """The operators' alerts waiting to be grouped (rows, written with the failure)."""
    return [dict(row) for row in AdminAlert.objects.values("context", "error")]


def test_a_receipt_the_sandbox_refuses_fails_the_intent_and_raises_an_alert(
    live, sandbox, redis_client
) -> None:
    # A VAT code YooKassa does not know (the admin's choices do not bind the column).
    FiscalSettings.objects.create(owner=live.k.kiosk.owner)
    FiscalSettings.objects.filter(owner=live.k.kiosk.owner).update(vat_code=99)
    session = live.session()
    response = live.post("/api/payments/intent", {"session_id": session["id"]})
    assert response.status_code == 201
    assert response.json()["status"] == "failed"
    assert response.json()["failure_reason"] == "provider_rejected"
    assert not sandbox.state.payments  # YooKassa made no payment
    alerts = _pending_alerts(redis_client)
    assert any(a["context"].startswith("payments.receipt") for a in alerts), alerts
    entry = AuditEntry.objects.get(action="payment.receipt_failed")
    assert "receipt.items.vat_code" in entry.summary["error"]


def test_sandbox_answers_yookassas_error_shape_for_a_bad_receipt(sandbox) -> None:
    response = requests.post(
        sandbox.api_url + "/payments",
        json={
            "amount": {"value": "480.00", "currency": "RUB"},
            "receipt": {
                "customer": {"email": "client@example.com"},
                "items": [
                    {
                        "description": "Диагностика",
                        "quantity": "1.00",
                        "amount": {"value": "400.00", "currency": "RUB"},
                        "vat_code": 1,
                        "payment_subject": "service",
                        "payment_mode": "full_payment",
                    }
                ],
            },
        },
        headers={"Idempotence-Key": "k1"},
        timeout=5,
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error" and body["code"] == "invalid_request"
    assert body["parameter"] == "receipt.items.amount"
    assert body["id"]


def test_a_receipt_that_fails_registration_raises_one_alert(live, sandbox, redis_client) -> None:
    _session, intent = _pay(live, sandbox)
    payment_id = intent["provider_payment_id"]
    row = PaymentIntent.objects.get(pk=intent["id"])
    assert row.receipt_registration == "pending"
    sandbox.set_receipt_registration(payment_id, "canceled")
    PaymentIntent.objects.filter(pk=row.pk).update(
        capture_status="released", refund_status="failed"
    )
    poll_intents()
    poll_intents()
    assert PaymentIntent.objects.get(pk=row.pk).receipt_registration == "canceled"
    assert AuditEntry.objects.filter(action="payment.receipt_failed").count() == 1
    alerts = [a for a in _pending_alerts(redis_client) if "receipt" in a["context"]]
    assert len(alerts) == 1


# --- Hold and capture --------------------------------------------------------------------------


def test_capture_happens_once_when_the_report_is_generated_even_if_it_fails_once(
    live, sandbox, celery_worker
) -> None:
    session, intent = _pay(live, sandbox)
    payment_id = intent["provider_payment_id"]
    assert sandbox.state.payments[payment_id]["status"] == "waiting_for_capture"
    sandbox.fail_next_capture(1)  # the capture happens, the answer is lost (500)

    response = live.post("/api/reports/diagnostics", {"session_id": session["id"], **DIAGNOSTICS})
    assert response.status_code == 202, response.text
    row = wait_for(
        lambda: PaymentIntent.objects.filter(pk=intent["id"], capture_status="captured").first(),
        timeout=40,
    )
    captures = sandbox.requests("POST", f"/v3/payments/{payment_id}/capture")
    assert len(captures) == 2  # the retry after the lost answer
    assert {c.idempotence_key for c in captures} == {f"vk-capture-{intent['id']}"}
    assert sandbox.state.payments[payment_id]["status"] == "succeeded"
    assert row.captured_at is not None
    assert AuditEntry.objects.filter(action="payment.captured", object_id=intent["id"]).count() == 1

    # Generating again (a re-run task) or polling takes nothing more.
    from reports.services import generate

    generate(Report.objects.get(session_id=session["id"]).pk)
    poll_intents()
    assert len(sandbox.requests("POST", f"/v3/payments/{payment_id}/capture")) == 2


def test_a_report_needs_a_payment_of_the_services_price(live, sandbox) -> None:
    session, _intent = _pay(live, sandbox)
    ServicePrice.objects.create(
        owner=live.k.kiosk.owner, service_type="diagnostics", amount=99000
    )  # the price went up after this client paid less
    response = live.post("/api/reports/diagnostics", {"session_id": session["id"], **DIAGNOSTICS})
    assert response.status_code == 409
    assert response.json()["detail"] == "session is not paid"


def test_a_paid_session_outlives_its_ttl_until_the_service_deadline(live, sandbox) -> None:
    session, _intent = _pay(live, sandbox)
    row = Session.objects.get(pk=session["id"])
    paid_until = row.expires_at
    assert paid_until >= timezone.now() + timedelta(minutes=29)
    live.http.patch(live.url + f"/api/sessions/{session['id']}", json={"metadata": {}}, timeout=20)
    assert Session.objects.get(pk=session["id"]).expires_at >= paid_until


def test_an_undelivered_service_has_its_hold_released_and_audited(live, sandbox) -> None:
    _session, intent = _pay(live, sandbox)
    payment_id = intent["provider_payment_id"]
    web = requests.get(live.url + "/metrics", timeout=20).text
    before = metric_value(web, "payments_failed_total", reason="service_not_delivered")
    PaymentIntent.objects.filter(pk=intent["id"]).update(
        confirmed_at=timezone.now() - timedelta(hours=1)
    )

    assert poll_intents()["released"] == 1
    row = PaymentIntent.objects.get(pk=intent["id"])
    assert (row.capture_status, row.refund_status) == ("released", "succeeded")
    assert sandbox.state.payments[payment_id]["status"] == "canceled"
    cancels = sandbox.requests("POST", f"/v3/payments/{payment_id}/cancel")
    assert [c.idempotence_key for c in cancels] == [f"vk-release-{intent['id']}"]
    assert not sandbox.requests("POST", "/v3/refunds")  # a hold is cancelled, not refunded
    entry = AuditEntry.objects.get(action="payment.released", object_id=intent["id"])
    assert entry.summary["reason"] == "service_not_delivered"
    assert poll_intents()["released"] == 0
    web = requests.get(live.url + "/metrics", timeout=20).text
    assert metric_value(web, "payments_failed_total", reason="service_not_delivered") == before + 1


def test_the_client_leaving_after_paying_releases_the_hold_when_the_session_ends(
    live, sandbox
) -> None:
    session, intent = _pay(live, sandbox)
    # The kiosk's cancel after the payment answers "succeeded" and keeps the money held: the
    # kiosk goes on with the service.
    response = live.post(f"/api/payments/cancel/{intent['id']}")
    assert response.json()["status"] == "succeeded"
    assert PaymentIntent.objects.get(pk=intent["id"]).capture_status == "held"

    # The client walked away: the session ends with no service delivered.
    Session.objects.filter(pk=session["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert expire_sessions() == 1
    row = PaymentIntent.objects.get(pk=intent["id"])
    assert (row.capture_status, row.failure_reason) == ("released", "service_not_delivered")
    assert sandbox.state.payments[intent["provider_payment_id"]]["status"] == "canceled"
    assert AuditEntry.objects.filter(action="payment.released", object_id=intent["id"]).exists()


def test_a_captured_payment_released_is_refunded_with_its_receipt_and_polled_until_final(
    live, sandbox
) -> None:
    _session, intent = _pay(live, sandbox)
    payment_id = intent["provider_payment_id"]
    sandbox.set_status(payment_id, "succeeded")
    sandbox.state.payments[payment_id]["status"] = "succeeded"  # captured at YooKassa
    sandbox.state.refund_status = "pending"
    row = PaymentIntent.objects.get(pk=intent["id"])

    assert release_intent(row, reason="service_failed") == "refunded"
    refund = sandbox.requests("POST", "/v3/refunds")[0]
    assert refund.idempotence_key == f"vk-refund-{intent['id']}"
    sent = refund.body["receipt"]
    assert float(sent["items"][0].pop("quantity")) == 1
    expected = json.loads(json.dumps(row.receipt))
    expected["items"][0].pop("quantity")
    assert sent == expected  # the payment's own receipt, for the refund
    row.refresh_from_db()
    assert row.refund_status == "pending"

    poll_intents()
    assert PaymentIntent.objects.get(pk=row.pk).refund_status == "pending"
    sandbox.set_refund_status(row.refund_id, "succeeded")
    assert poll_intents()["refunds_settled"] == 1
    assert PaymentIntent.objects.get(pk=row.pk).refund_status == "succeeded"
    assert AuditEntry.objects.filter(action="payment.refund_succeeded").count() == 1


def test_the_dev_emulator_holds_and_captures_like_yookassa(
    live, settings, tmp_path, celery_worker
) -> None:
    settings.PAYMENTS_PROVIDER = "dev"
    settings.PAYMENTS_DEV_MANUAL_MODE = True
    settings.MEDIA_ROOT = tmp_path
    session = live.session()
    intent = live.post("/api/payments/intent", {"session_id": session["id"]}).json()
    assert live.post(f"/api/payments/confirm/{intent['id']}").json()["status"] == "succeeded"
    row = PaymentIntent.objects.get(pk=intent["id"])
    assert row.capture_status == "held"
    assert get_provider("dev").get_payment_status(row.provider_payment_id or "").status == "held"

    response = live.post("/api/reports/diagnostics", {"session_id": session["id"], **DIAGNOSTICS})
    assert response.status_code == 202
    wait_for(
        lambda: PaymentIntent.objects.filter(pk=row.pk, capture_status="captured").exists(),
        timeout=40,
    )
    assert (
        get_provider("dev").get_payment_status(row.provider_payment_id or "").status == "succeeded"
    )
    assert AuditEntry.objects.filter(action="payment.captured", object_id=intent["id"]).count() == 1
