"""Payment intents: create, settle (DEV emulator, webhook, poll), expire, late-success refund.

Every status change is a conditional `UPDATE ... WHERE status = 'pending'` (or a row lock), so a
webhook, the poller, the emulator and the expiry sweep can race without a double transition; the
terminal states never change again. A success the PSP reports for an intent we already closed is
refunded through the PSP with its own idempotence key.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import ActorKind
from audit.services import SYSTEM, Actor, record
from core.jobs import enqueue, enqueue_on_commit
from kiosk.models import Kiosk, Session, SessionStatus
from payments import metrics
from payments.models import PaymentIntent, PaymentStatus, RefundStatus, WebhookEvent
from payments.providers import (
    CreatePayment,
    ProviderError,
    ProviderPayment,
    ProviderRejected,
    ProviderUnavailable,
    get_provider,
)

log = logging.getLogger(__name__)

PROVIDER_ACTOR = Actor(kind=ActorKind.PROVIDER, label="psp")


class PaymentConflict(Exception):
    """The intent or its session is in a state that forbids the operation (HTTP 409)."""


def _owner_id(intent: PaymentIntent) -> int:
    return Session.objects.filter(pk=intent.session_id).values_list("kiosk__owner_id", flat=True)[0]


def _audit(actor: Actor, action: str, intent: PaymentIntent, **summary: Any) -> None:
    actor.audit(
        action,
        owner_id=_owner_id(intent),
        obj=intent,
        summary={"amount": intent.amount, "currency": intent.currency, **summary},
    )


# --- Create ------------------------------------------------------------------------------------


def create_intent(
    *,
    kiosk: Kiosk,
    session_id: Any,
    amount: int | None = None,
    currency: str | None = None,
    metadata: dict[str, Any] | None = None,
    actor: Actor = SYSTEM,
) -> PaymentIntent:
    """Create an intent for an active session of `kiosk` and register it at the PSP.

    A PSP that does not answer leaves the intent pending without a QR code; the poller retries
    the create with the same idempotence key, so the client is never charged twice.
    """
    session = Session.objects.filter(pk=session_id, kiosk=kiosk).first()
    if session is None:
        raise Session.DoesNotExist
    if session.status != SessionStatus.ACTIVE or session.expires_at <= timezone.now():
        raise PaymentConflict(f"session is {session.status}: no new payment")
    if session.payments.filter(status=PaymentStatus.SUCCEEDED).exists():
        raise PaymentConflict("session is already paid")
    provider = get_provider()
    if settings.IS_PROD and provider.name == "dev":
        raise PaymentConflict("no payment provider in PROD: set PAYMENTS_PROVIDER=yookassa")
    now = timezone.now()
    with transaction.atomic():
        intent = PaymentIntent(
            session=session,
            amount=amount or kiosk.price_for(session.type),
            currency=currency or settings.PAYMENTS_CURRENCY,
            provider=provider.name,
            metadata=metadata or {},
            expires_at=now + timedelta(seconds=settings.PAYMENTS_INTENT_TTL_S),
        )
        # Deterministic: a retried create (ours or the poller's) reuses it (YooKassa: ≤ 64 chars).
        intent.idempotency_key = f"vk-intent-{intent.id}"
        if provider.name == "dev" and not settings.PAYMENTS_DEV_MANUAL_MODE:
            delay = timedelta(milliseconds=settings.PAYMENTS_DEV_AUTO_CONFIRM_DELAY_MS)
            intent.due_at = now + delay
        intent.save()
        _audit(actor, "payment.created", intent, provider=provider.name, session=str(session.pk))
    metrics.PAYMENTS_INTENTS.inc()
    register_at_provider(intent)
    if intent.due_at is not None:
        enqueue(
            "payments.tasks.confirm_dev_intent",
            intent_id=str(intent.id),
            countdown=settings.PAYMENTS_DEV_AUTO_CONFIRM_DELAY_MS / 1000,
        )
    intent.refresh_from_db()
    return intent


def _description(intent: PaymentIntent) -> str:
    session_type = Session.objects.filter(pk=intent.session_id).values_list("type", flat=True)[0]
    label = "Диагностика автомобиля" if session_type == "diagnostics" else "Проверка толщины ЛКП"
    return f"{label}, заказ {str(intent.id)[:8]}"


def register_at_provider(intent: PaymentIntent, attempts: int = 2) -> bool:
    """Create the intent's payment at the PSP (idempotent). False when the PSP did not answer."""
    provider = get_provider(intent.provider)
    request = CreatePayment(
        intent_id=str(intent.id),
        amount=intent.amount,
        currency=intent.currency,
        description=_description(intent),
        idempotency_key=intent.idempotency_key,
        metadata={"session_id": str(intent.session_id)},
    )
    for attempt in range(1, attempts + 1):
        try:
            payment = provider.create_payment(request)
            break
        except ProviderUnavailable as exc:
            log.warning("payment %s: create attempt %s failed: %s", intent.pk, attempt, exc)
        except ProviderRejected as exc:
            _fail(intent, reason="provider_rejected", detail=str(exc))
            return False
    else:
        return False
    PaymentIntent.objects.filter(pk=intent.pk, provider_payment_id__isnull=True).update(
        provider_payment_id=payment.provider_payment_id, qr_code_data=payment.qr_code_data
    )
    intent.refresh_from_db()
    apply_provider_payment(intent, payment, source="create")
    return True


# --- Settle ------------------------------------------------------------------------------------


def _close(
    intent: PaymentIntent,
    *,
    status: str,
    reason: str = "",
    from_statuses: tuple[str, ...] = (PaymentStatus.PENDING,),
) -> bool:
    """Move the intent to a terminal `status` if it is still in `from_statuses`; True if moved."""
    now = timezone.now()
    fields: dict[str, Any] = {"status": status, "closed_at": now, "updated_at": now}
    if status == PaymentStatus.SUCCEEDED:
        fields["confirmed_at"] = now
    if reason:
        fields["failure_reason"] = reason[:100]
    moved = PaymentIntent.objects.filter(pk=intent.pk, status__in=from_statuses).update(**fields)
    if moved:
        intent.refresh_from_db()
        seconds = (now - intent.created_at).total_seconds()
        metrics.PAYMENTS_DURATION.labels(status=status).observe(seconds)
    return bool(moved)


def confirm_intent(intent: PaymentIntent, *, actor: Actor = SYSTEM, source: str) -> bool:
    """Mark a pending intent succeeded (safe to repeat: only the first call changes it)."""
    with transaction.atomic():
        if not _close(intent, status=PaymentStatus.SUCCEEDED):
            return False
        _audit(actor, "payment.confirmed", intent, source=source)
    metrics.PAYMENTS_CONFIRMED.labels(provider=intent.provider).inc()
    log.info("payment %s succeeded (%s)", intent.pk, source)
    return True


def _fail(
    intent: PaymentIntent, *, reason: str, status: str = PaymentStatus.FAILED, detail: str = ""
) -> bool:
    with transaction.atomic():
        if not _close(intent, status=status, reason=reason):
            return False
        _audit(SYSTEM, "payment.failed", intent, status=status, reason=reason, detail=detail)
    metrics.PAYMENTS_FAILED.labels(reason=reason).inc()
    return True


def apply_provider_payment(intent: PaymentIntent, payment: ProviderPayment, *, source: str) -> str:
    """Act on what the PSP's API says about the intent's payment. Returns what happened."""
    if payment.status == "succeeded":
        if intent.status == PaymentStatus.PENDING:
            return (
                "confirmed"
                if confirm_intent(intent, actor=PROVIDER_ACTOR, source=source)
                else ("unchanged")
            )
        if intent.status in (PaymentStatus.CANCELED, PaymentStatus.EXPIRED):
            return refund_late_success(intent, source=source)
        return "unchanged"
    if payment.status == "canceled" and intent.status == PaymentStatus.PENDING:
        reason = payment.cancellation_reason or "canceled"
        return (
            "canceled"
            if _fail(intent, reason=reason, status=PaymentStatus.CANCELED)
            else ("unchanged")
        )
    return "unchanged"


def refund_late_success(intent: PaymentIntent, *, source: str) -> str:
    """The PSP took money for an intent we closed: refund it (once, with its own key), audit it,
    count it as `payments_failed_total{reason="late_success_refunded"}`."""
    with transaction.atomic():
        locked = PaymentIntent.objects.select_for_update().get(pk=intent.pk)
        if locked.refund_status in (RefundStatus.PENDING, RefundStatus.SUCCEEDED):
            return "already_refunded"
        provider = get_provider(locked.provider)
        try:
            refund = provider.refund_payment(
                locked.provider_payment_id or "",
                locked.amount,
                locked.currency,
                locked.refund_idempotency_key,
            )
        except ProviderError as exc:
            # Not recorded as refunded: the poller (or the next notification) tries again.
            log.error("payment %s: late success, refund failed: %s", locked.pk, exc)
            _audit(SYSTEM, "payment.refund_failed", locked, source=source, error=str(exc))
            return "refund_failed"
        locked.refund_status = (
            RefundStatus.SUCCEEDED if refund.status == "succeeded" else RefundStatus.PENDING
        )
        locked.refund_id = refund.refund_id
        locked.refunded_at = timezone.now()
        locked.save(update_fields=["refund_status", "refund_id", "refunded_at", "updated_at"])
        _audit(
            SYSTEM,
            "payment.late_success_refunded",
            locked,
            source=source,
            refund_id=refund.refund_id,
            closed_as=locked.status,
        )
    metrics.PAYMENTS_FAILED.labels(reason="late_success_refunded").inc()
    log.warning("payment %s: success after it was %s, refunded", locked.pk, locked.status)
    intent.refresh_from_db()
    return "refunded"


def confirm_dev_intent(intent_id: Any, *, actor: Actor = SYSTEM, source: str) -> bool:
    """DEV emulator: the client "paid". No-op for anything but a pending DEV intent."""
    intent = PaymentIntent.objects.filter(pk=intent_id, provider="dev").first()
    if intent is None or intent.status != PaymentStatus.PENDING:
        return False
    if intent.expires_at <= timezone.now():
        return False  # the expiry sweep closes it
    return confirm_intent(intent, actor=actor, source=source)


def sweep_due_dev_intents(now: datetime | None = None) -> int:
    """The durable fallback of the DEV countdown task: confirm DEV intents past `due_at`."""
    now = now or timezone.now()
    confirmed = 0
    due = PaymentIntent.objects.filter(
        provider="dev", status=PaymentStatus.PENDING, due_at__lte=now, expires_at__gt=now
    ).values_list("pk", flat=True)
    for intent_id in list(due[:500]):
        confirmed += confirm_dev_intent(intent_id, source="dev_sweep")
    return confirmed


# --- Expire, cancel, poll ------------------------------------------------------------------------


def _close_at_provider(intent: PaymentIntent, *, status: str, reason: str) -> str:
    """Close a pending intent on our side, re-reading it at the PSP first: a payment that
    succeeded at the last second is confirmed, not cancelled."""
    provider = get_provider(intent.provider)
    if intent.provider_payment_id:
        try:
            payment = provider.get_payment_status(intent.provider_payment_id)
        except ProviderUnavailable:
            return "deferred"  # try again on the next sweep rather than guess
        except ProviderRejected:
            payment = None
        if payment is not None and payment.status == "succeeded":
            return apply_provider_payment(intent, payment, source=f"{reason}_check")
        if payment is not None and payment.status == "pending":
            try:
                provider.cancel_payment(intent.provider_payment_id, intent.cancel_idempotency_key)
            except ProviderError as exc:
                # YooKassa cancels only waiting_for_capture payments; a pending one lapses.
                log.info("payment %s: cancel at PSP not done: %s", intent.pk, exc)
    return "closed" if _fail(intent, reason=reason, status=status) else "unchanged"


def expire_intents(now: datetime | None = None) -> int:
    """Expire pending intents past their `expires_at`. Safe to re-run."""
    now = now or timezone.now()
    expired = 0
    ids = PaymentIntent.objects.filter(
        status=PaymentStatus.PENDING, expires_at__lte=now
    ).values_list("pk", flat=True)
    for intent_id in list(ids[:500]):
        intent = PaymentIntent.objects.get(pk=intent_id)
        expired += _close_at_provider(intent, status=PaymentStatus.EXPIRED, reason="expired") == (
            "closed"
        )
    return expired


def cancel_intent(
    intent: PaymentIntent, *, actor: Actor = SYSTEM, reason: str = "canceled_by_kiosk"
) -> str:
    """Cancel a pending intent at the kiosk's request (the client pressed "cancel", or the
    kiosk's own timer ran out; past its expiry it is marked expired). The PSP is asked first: a
    payment it already took is confirmed, not cancelled, so the paying client still gets the
    service. Returns the intent's status afterwards (still `pending` when the PSP did not
    answer: the kiosk asks again). Safe to repeat."""
    if intent.status != PaymentStatus.PENDING:
        return intent.status
    _audit(actor, "payment.cancel_requested", intent, reason=reason)
    if intent.expires_at <= timezone.now():
        # The kiosk's countdown ran out: the same outcome the expiry sweep would record.
        _close_at_provider(intent, status=PaymentStatus.EXPIRED, reason="expired")
    else:
        _close_at_provider(intent, status=PaymentStatus.CANCELED, reason=reason)
    intent.refresh_from_db()
    return intent.status


def cancel_session_intents(session: Session) -> None:
    """Cancel a session's unpaid intents (called in the session's expiry transaction; the PSP
    calls happen after commit)."""
    ids = [
        str(pk)
        for pk in session.payments.filter(status=PaymentStatus.PENDING).values_list("pk", flat=True)
    ]
    if not ids:
        return

    def cancel() -> None:
        for intent_id in ids:
            intent = PaymentIntent.objects.get(pk=intent_id)
            if intent.status == PaymentStatus.PENDING:
                _close_at_provider(intent, status=PaymentStatus.CANCELED, reason="session_expired")

    transaction.on_commit(cancel)


def poll_intents(now: datetime | None = None) -> dict[str, int]:
    """Webhook fallback: re-read pending intents at the PSP (registering ones the PSP never
    answered for), and recently closed ones to catch a late success. Safe to re-run."""
    now = now or timezone.now()
    counts = {"registered": 0, "polled": 0, "changed": 0}
    unregistered = PaymentIntent.objects.filter(
        status=PaymentStatus.PENDING, provider_payment_id__isnull=True, expires_at__gt=now
    ).exclude(provider="dev")
    for intent in list(unregistered[:100]):
        counts["registered"] += register_at_provider(intent, attempts=1)
    window = now - timedelta(seconds=settings.PAYMENTS_LATE_SUCCESS_WINDOW_S)
    stale = now - timedelta(seconds=settings.PAYMENTS_POLL_AFTER_S)
    watched = (
        PaymentIntent.objects.exclude(provider="dev")
        .filter(provider_payment_id__isnull=False)
        .filter(
            # pending and not heard of lately, or closed by us and possibly paid late
            models_q_pending(stale) | models_q_closed(window)
        )
        .order_by("last_polled_at", "created_at")
    )
    for intent in list(watched[:200]):
        provider = get_provider(intent.provider)
        try:
            payment = provider.get_payment_status(intent.provider_payment_id or "")
        except ProviderError as exc:
            log.warning("payment %s: poll failed: %s", intent.pk, exc)
            continue
        PaymentIntent.objects.filter(pk=intent.pk).update(last_polled_at=now)
        counts["polled"] += 1
        counts["changed"] += apply_provider_payment(intent, payment, source="poll") != "unchanged"
    return counts


def models_q_pending(stale: datetime) -> Any:
    from django.db.models import Q

    return Q(status=PaymentStatus.PENDING, created_at__lte=stale)


def models_q_closed(window: datetime) -> Any:
    from django.db.models import Q

    return Q(
        status__in=(PaymentStatus.CANCELED, PaymentStatus.EXPIRED),
        closed_at__gte=window,
        refund_status__in=(RefundStatus.NONE, RefundStatus.FAILED),
    )


# --- Webhooks ----------------------------------------------------------------------------------


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
        provider=event.provider, event=event.event, object_id=event.object_id, applied=True
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
    return {"payment.succeeded": "succeeded", "payment.canceled": "canceled"}.get(event)
