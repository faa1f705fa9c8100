"""PSP notifications: accepted only from the PSP's ranges, stored, then processed in a task that
re-reads the payment from the API. The same (event, object, status) is applied at most once."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import ActorKind
from audit.services import record
from core.jobs import enqueue_on_commit
from payments.models import PaymentIntent, WebhookEvent
from payments.providers import get_provider
from payments.services.intents import _owner_id, apply_provider_payment


def is_trusted_webhook_source(ip: str | None) -> bool:
    """Only the PSP's published ranges (`YOOKASSA_WEBHOOK_IPS`) may notify us."""
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for network in settings.YOOKASSA_WEBHOOK_IPS:
        if address in ipaddress.ip_network(network, strict=False):
            return True
    return False


def receive_webhook(body: dict[str, Any], *, remote_ip: str, provider_name: str) -> WebhookEvent:
    """Store a notification from a trusted source and queue its processing (after commit).
    Raises `ProviderRejected` for a body that is not a notification."""
    provider = get_provider(provider_name)
    notice = provider.process_webhook(body)
    with transaction.atomic():
        event = WebhookEvent.objects.create(
            provider=provider.name,
            event=notice.event,
            object_id=notice.payment_id,
            object_status=_object_status(body),
            remote_ip=remote_ip,
            payload=body,
        )
        intent = PaymentIntent.objects.filter(provider_payment_id=notice.payment_id).first()
        record(
            "payment.webhook_received",
            actor_kind=ActorKind.PROVIDER,
            actor_label=provider.name,
            owner_id=_owner_id(intent) if intent else None,
            obj=intent,
            object_type="" if intent else "payments.webhookevent",
            object_id="" if intent else str(event.pk),
            summary={"event": notice.event, "payment_id": notice.payment_id, "ip": remote_ip},
        )
        enqueue_on_commit("payments.tasks.process_webhook_event", event_id=event.pk)
    return event


def process_webhook_event(event_id: int) -> str:
    """Re-read the payment the notification names and act on the API's answer, at most once per
    (event, payment). Safe to re-run."""
    event = WebhookEvent.objects.get(pk=event_id)
    if event.processed_at is not None:
        return event.outcome
    outcome: str
    applied = WebhookEvent.objects.filter(
        provider=event.provider,
        event=event.event,
        object_id=event.object_id,
        object_status=event.object_status,
        applied=True,
    )
    if applied.exists():
        outcome = "duplicate"
    else:
        intent = PaymentIntent.objects.filter(
            provider=event.provider, provider_payment_id=event.object_id
        ).first()
        if intent is None:
            outcome = "unknown_payment"
        else:
            provider = get_provider(event.provider)
            payment = provider.get_payment_status(event.object_id)  # transient: task retries
            claimed = _claimed_status(event.event)
            if claimed and payment.status != claimed:
                outcome = f"api_says_{payment.status}"
            else:
                # One notification of a payment at a time: of two copies processed at once, the
                # one that waited for the lock finds the other applied (not "unchanged").
                with transaction.atomic():
                    intent = PaymentIntent.objects.select_for_update().get(pk=intent.pk)
                    if applied.exists():
                        outcome = "duplicate"
                    else:
                        outcome = apply_provider_payment(intent, payment, source="webhook")
                        try:
                            with transaction.atomic():
                                WebhookEvent.objects.filter(pk=event.pk).update(applied=True)
                        except IntegrityError:
                            outcome = "duplicate"
    WebhookEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now(), outcome=outcome)
    return outcome


def _claimed_status(event: str) -> str | None:
    return {
        "payment.succeeded": "succeeded",
        "payment.waiting_for_capture": "held",
        "payment.canceled": "canceled",
    }.get(event)


def _object_status(body: dict[str, Any]) -> str:
    obj = body.get("object")
    status = obj.get("status") if isinstance(obj, dict) else None
    return str(status)[:32] if isinstance(status, str) else ""
