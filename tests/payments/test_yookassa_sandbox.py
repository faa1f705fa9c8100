"""YooKassa through the official SDK against the local sandbox (sandboxes/yookassa.py), with a real
Celery worker processing the webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry
from core import sweeps
from payments.models import PaymentIntent, WebhookEvent
from payments.providers import get_provider
from payments.services import expire_intents, poll_intents
from payments.tasks import process_webhook_event
from sandboxes.yookassa import YooKassaSandbox, notification
from tests.helpers.kiosk import make_kiosk, metric_value, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

YOOKASSA_IP = "185.71.76.10"


@pytest.fixture
def sandbox(settings) -> Iterator[YooKassaSandbox]:
    box = YooKassaSandbox().start()
    settings.PAYMENTS_PROVIDER = "yookassa"
    settings.YOOKASSA_SHOP_ID = "123456"
    settings.YOOKASSA_SECRET_KEY = "test_sandbox_secret"
    settings.YOOKASSA_API_URL = box.api_url
    settings.YOOKASSA_HTTP_TIMEOUT_S = 2
    yield box
    box.stop()


def _intent(k) -> dict:
    session = k.client.post(
        "/api/sessions",
        {"type": "diagnostics", "contact": {"email": "client@example.com"}},
        format="json",
    ).json()
    response = k.client.post("/api/payments/intent", {"session_id": session["id"]}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _webhook(client: Client, body: dict, ip: str = YOOKASSA_IP):
    return client.post(
        "/api/payments/webhook", body, content_type="application/json", REMOTE_ADDR=ip
    )


def test_create_sends_deterministic_key_and_a_retry_after_500_reuses_it(
    sandbox, redis_client
) -> None:
    sandbox.fail_next(1)  # YooKassa made the payment but answered 500
    k = make_kiosk()
    intent = _intent(k)

    creates = sandbox.requests("POST", "/v3/payments")
    assert len(creates) == 2
    assert creates[0].idempotence_key == creates[1].idempotence_key == f"vk-intent-{intent['id']}"
    assert len(sandbox.state.payments) == 1  # one payment, never two charges
    assert creates[0].body["confirmation"] == {"type": "qr"}
    assert creates[0].body["amount"] == {"value": "480.00", "currency": "RUB"}
    assert creates[0].body["capture"] is False  # held until the report is generated
    assert intent["provider_payment_id"] in sandbox.state.payments
    assert intent["qr_code_data"].startswith("https://qr.nspk.ru/")


def test_unreachable_psp_leaves_intent_pending_and_the_poller_registers_it_with_the_same_key(
    sandbox, redis_client, settings
) -> None:
    settings.YOOKASSA_API_URL = "http://127.0.0.1:9/v3"  # nothing listens: connection refused
    k = make_kiosk()
    intent = _intent(k)
    assert intent["status"] == "pending" and intent["provider_payment_id"] is None

    settings.YOOKASSA_API_URL = sandbox.api_url
    assert poll_intents()["registered"] == 1
    row = PaymentIntent.objects.get(pk=intent["id"])
    assert row.provider_payment_id in sandbox.state.payments
    assert sandbox.requests("POST", "/v3/payments")[0].idempotence_key == row.idempotency_key


def test_webhook_from_a_foreign_ip_is_refused_with_no_state_change(
    sandbox, redis_client, celery_worker
) -> None:
    k = make_kiosk()
    intent = _intent(k)
    payment_id = intent["provider_payment_id"]
    sandbox.set_status(payment_id, "succeeded")
    audit_before = AuditEntry.objects.count()

    response = _webhook(
        Client(), notification("payment.succeeded", sandbox.state.payments[payment_id]), "8.8.8.8"
    )
    assert response.status_code == 403
    assert WebhookEvent.objects.count() == 0
    assert AuditEntry.objects.count() == audit_before
    assert PaymentIntent.objects.get(pk=intent["id"]).status == "pending"
    assert not sandbox.requests("GET", f"/v3/payments/{payment_id}")


def test_forged_succeeded_webhook_for_a_pending_payment_changes_nothing(
    sandbox, redis_client, celery_worker
) -> None:
    k = make_kiosk()
    intent = _intent(k)
    payment_id = intent["provider_payment_id"]
    forged = dict(sandbox.state.payments[payment_id], status="succeeded", paid=True)

    response = _webhook(Client(), notification("payment.succeeded", forged))
    assert response.status_code == 200
    event = wait_for(lambda: WebhookEvent.objects.filter(processed_at__isnull=False).first())
    assert event.outcome == "api_says_pending"
    assert event.applied is False
    assert PaymentIntent.objects.get(pk=intent["id"]).status == "pending"
    assert sandbox.requests("GET", f"/v3/payments/{payment_id}")  # it asked the API

    # The genuine notification later is still applied (the client paid: the money is held).
    sandbox.set_status(payment_id, "succeeded")
    _webhook(Client(), notification("payment.waiting_for_capture", sandbox.public(payment_id)))
    wait_for(lambda: PaymentIntent.objects.get(pk=intent["id"]).status == "succeeded")


def test_duplicate_notification_is_applied_once(sandbox, redis_client, celery_worker) -> None:
    k = make_kiosk()
    intent = _intent(k)
    payment_id = intent["provider_payment_id"]
    sandbox.set_status(payment_id, "succeeded")
    body = notification("payment.waiting_for_capture", sandbox.public(payment_id))
    web = Client()
    before = metric_value(web.get("/metrics").content.decode(), "payments_confirmed_total")

    assert _webhook(web, body).status_code == 200
    assert _webhook(web, body).status_code == 200
    wait_for(lambda: WebhookEvent.objects.filter(processed_at__isnull=False).count() == 2)

    outcomes = sorted(WebhookEvent.objects.values_list("outcome", flat=True))
    assert outcomes == ["confirmed", "duplicate"]
    assert WebhookEvent.objects.filter(applied=True).count() == 1
    assert PaymentIntent.objects.get(pk=intent["id"]).status == "succeeded"
    assert (
        AuditEntry.objects.filter(action="payment.confirmed", object_id=intent["id"]).count() == 1
    )
    assert AuditEntry.objects.filter(action="payment.webhook_received").count() == 2
    after = metric_value(web.get("/metrics").content.decode(), "payments_confirmed_total")
    assert after == before + 1


def test_late_success_after_expiry_has_its_hold_cancelled_once(
    sandbox, redis_client, celery_worker
) -> None:
    k = make_kiosk()
    intent = _intent(k)
    payment_id = intent["provider_payment_id"]
    PaymentIntent.objects.filter(pk=intent["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert expire_intents() == 1  # the PSP says pending; it cannot cancel it: expired here
    assert PaymentIntent.objects.get(pk=intent["id"]).status == "expired"
    web = Client()
    before = metric_value(
        web.get("/metrics").content.decode(),
        "payments_failed_total",
        reason="late_success_refunded",
    )

    sandbox.set_status(payment_id, "succeeded")  # the client paid at the last second
    assert sandbox.state.payments[payment_id]["status"] == "waiting_for_capture"
    body = notification("payment.waiting_for_capture", sandbox.public(payment_id))
    assert _webhook(web, body).status_code == 200
    row = wait_for(
        lambda: PaymentIntent.objects.filter(pk=intent["id"], refund_status="succeeded").first()
    )
    assert row.status == "expired"  # the terminal state stays
    # A hold is cancelled (no refund, no fee), with its own key.
    cancels = sandbox.requests("POST", f"/v3/payments/{payment_id}/cancel")
    # (the expiry's own cancel of the pending payment was refused by YooKassa, as it is)
    releases = [c for c in cancels if c.idempotence_key == f"vk-release-{intent['id']}"]
    assert len(releases) == 1
    assert sandbox.state.payments[payment_id]["status"] == "canceled"
    assert not sandbox.requests("POST", "/v3/refunds")
    assert AuditEntry.objects.filter(action="payment.late_success_refunded").count() == 1

    # The poller sees the payment again: nothing more is sent.
    poll_intents()
    assert len(sandbox.requests("POST", f"/v3/payments/{payment_id}/cancel")) == len(cancels)
    assert not sandbox.state.refunds
    after = metric_value(
        web.get("/metrics").content.decode(),
        "payments_failed_total",
        reason="late_success_refunded",
    )
    assert after == before + 1


def test_expiry_rereads_the_psp_and_confirms_a_payment_made_in_time(sandbox, redis_client) -> None:
    k = make_kiosk()
    intent = _intent(k)
    sandbox.set_status(intent["provider_payment_id"], "succeeded")
    PaymentIntent.objects.filter(pk=intent["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert expire_intents() == 0
    row = PaymentIntent.objects.get(pk=intent["id"])
    assert row.status == "succeeded" and row.refund_status == ""


def test_poller_applies_a_cancellation_the_webhook_never_brought(sandbox, redis_client, settings):
    settings.PAYMENTS_POLL_AFTER_S = 0
    k = make_kiosk()
    intent = _intent(k)
    sandbox.set_status(intent["provider_payment_id"], "canceled", "insufficient_funds")
    assert poll_intents()["changed"] == 1
    row = PaymentIntent.objects.get(pk=intent["id"])
    assert (row.status, row.failure_reason) == ("canceled", "insufficient_funds")


def test_confirm_endpoint_is_404_outside_dev(sandbox, redis_client) -> None:
    k = make_kiosk()
    intent = _intent(k)
    assert k.client.post(f"/api/payments/confirm/{intent['id']}").status_code == 404


@pytest.mark.django_db
def test_notification_whose_message_was_lost_is_processed_by_the_sweep(
    sandbox, redis_client, settings, django_capture_on_commit_callbacks
) -> None:
    k = make_kiosk()
    intent = _intent(k)
    payment_id = intent["provider_payment_id"]
    sandbox.set_status(payment_id, "succeeded")  # the client paid: the money is held
    received = timezone.now()
    overdue = received + timedelta(seconds=settings.PAYMENTS_WEBHOOK_REQUEUE_AFTER_S + 1)
    with time_machine.travel(received, tick=False):
        notice = notification("payment.waiting_for_capture", sandbox.public(payment_id))
        with django_capture_on_commit_callbacks(execute=False) as lost:
            assert _webhook(Client(), notice).status_code == 200
        assert lost  # stored, but its message never reached Redis
        event = WebhookEvent.objects.get()
        assert sweeps.run_all()["payments.webhooks"] == 0  # not overdue yet
    with time_machine.travel(overdue, tick=False):
        assert sweeps.run_all()["payments.webhooks"] == 1  # used to stay unprocessed for ever
        assert process_webhook_event.apply(kwargs={"event_id": event.pk}).get() == "confirmed"
        event.refresh_from_db()
        assert event.processed_at is not None and event.applied
        assert PaymentIntent.objects.get(pk=intent["id"]).status == "succeeded"
        assert sweeps.run_all()["payments.webhooks"] == 0  # processed: never queued again


def test_a_late_success_released_at_the_psp_but_not_recorded_is_recorded_once(
    sandbox, redis_client
) -> None:
    k = make_kiosk()
    intent = _intent(k)
    payment_id = intent["provider_payment_id"]
    assert k.client.post(f"/api/payments/cancel/{intent['id']}").status_code == 200
    sandbox.set_status(payment_id, "succeeded")  # paid after all: a late success, held
    row = PaymentIntent.objects.get(pk=intent["id"])
    assert (row.status, row.refund_status) == ("canceled", "")
    # The release reached the PSP, then PostgreSQL went away before it was recorded.
    get_provider("yookassa").cancel_payment(payment_id, row.release_idempotency_key)
    asked = len(sandbox.requests("POST", f"/v3/payments/{payment_id}/cancel"))

    # The notification, processed again (or the poller), finds the hold already cancelled.
    notice = notification("payment.waiting_for_capture", sandbox.public(payment_id))
    assert _webhook(Client(), notice).status_code == 200
    event = WebhookEvent.objects.get()
    outcome = process_webhook_event.apply(kwargs={"event_id": event.pk}).get()
    # A worker of the suite may take the queued copy first: either way it is applied once.
    assert outcome in ("refunded", "duplicate")
    assert WebhookEvent.objects.filter(pk=event.pk, applied=True).exists()
    row.refresh_from_db()
    assert (row.status, row.refund_status) == ("canceled", "succeeded")
    assert poll_intents()["changed"] == 0
    # Given back once: the PSP is not asked to cancel it again.
    assert len(sandbox.requests("POST", f"/v3/payments/{payment_id}/cancel")) == asked
