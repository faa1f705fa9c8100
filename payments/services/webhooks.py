"""PSP notifications: accepted only from the PSP's ranges, stored, then processed in a task that
re-reads the payment from the API. The same (event, object, status) is applied at most once."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import ActorKind
from audit.services import record
from core.jobs import enqueue, enqueue_on_commit
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
            if claimed and payment.status != claimed and payment.status != "canceled":
                outcome = f"api_says_{payment.status}"
            else:
                # A cancellation the API reports is the truth whatever the notice claimed (a
                # repeated notice may find our own release of a late success already done).
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


# YooKassa itself repeats an unanswered notification for a day; older ones are not swept.
SWEEP_WINDOW = timedelta(days=1)


def sweep_unprocessed(limit: int = 500) -> int:
    """Queue again every stored notification not processed `PAYMENTS_WEBHOOK_REQUEUE_AFTER_S`
    after it arrived (its queue message was lost, its worker died, its task failed while the
    database was down). Returns how many were queued. Safe to re-run: an event is applied at
    most once."""
    now = timezone.now()
    before = now - timedelta(seconds=settings.PAYMENTS_WEBHOOK_REQUEUE_AFTER_S)
    ids = list(
        WebhookEvent.objects.filter(
            processed_at__isnull=True, received_at__lt=before, received_at__gte=now - SWEEP_WINDOW
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for event_id in ids:
        enqueue("payments.tasks.process_webhook_event", event_id=event_id)
    return len(ids)


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
