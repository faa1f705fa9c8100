"""Background care of intents: expiry, the kiosk's cancel, the session's end, and the poller
(webhook fallback, pending refunds, retried captures, undelivered services). Safe to re-run."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import SYSTEM, Actor
from kiosk.models import Session
from payments.models import CaptureStatus, PaymentIntent, PaymentStatus, RefundStatus
from payments.providers import ProviderError, ProviderRejected, ProviderUnavailable, get_provider
from payments.services.capture import capture_intent
from payments.services.intents import (
    _audit,
    _fail,
    apply_provider_payment,
    register_at_provider,
    release_intent,
)

log = logging.getLogger(__name__)


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
        if payment is not None and payment.status in ("held", "succeeded"):
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
    answer: the kiosk asks again). A paid intent is left alone: the kiosk goes on with the
    service; if it never comes, the session's end or the service deadline releases the hold.
    Safe to repeat."""
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
    """Cancel a session's unpaid intents, and release a paid one whose service never came
    (called in the session's expiry transaction; the PSP calls happen after commit)."""
    ids = [
        str(pk)
        for pk in session.payments.filter(
            Q(status=PaymentStatus.PENDING)
            | Q(status=PaymentStatus.SUCCEEDED, capture_status=CaptureStatus.HELD)
        ).values_list("pk", flat=True)
    ]
    if not ids:
        return

    def cancel() -> None:
        for intent_id in ids:
            intent = PaymentIntent.objects.get(pk=intent_id)
            if intent.status == PaymentStatus.PENDING:
                _close_at_provider(intent, status=PaymentStatus.CANCELED, reason="session_expired")
            elif intent.status == PaymentStatus.SUCCEEDED:
                release_intent(intent, reason="service_not_delivered")

    transaction.on_commit(cancel)


def release_undelivered(now: datetime | None = None) -> int:
    """Release held payments whose service did not come within `PAYMENTS_SERVICE_DEADLINE_S`
    of the payment (no capture requested). Safe to re-run."""
    now = now or timezone.now()
    deadline = now - timedelta(seconds=settings.PAYMENTS_SERVICE_DEADLINE_S)
    released = 0
    for intent in PaymentIntent.objects.filter(
        status=PaymentStatus.SUCCEEDED,
        capture_status=CaptureStatus.HELD,
        capture_requested_at__isnull=True,
        confirmed_at__lte=deadline,
    )[:200]:
        released += release_intent(intent, reason="service_not_delivered") != "unchanged"
    return released


def _retry_captures(now: datetime) -> int:
    """Captures requested but not confirmed by the PSP (a lost answer, a worker crash)."""
    done = 0
    waiting = PaymentIntent.objects.filter(
        capture_status=CaptureStatus.HELD,
        capture_requested_at__lte=now - timedelta(seconds=settings.PAYMENTS_POLL_AFTER_S),
    ).values_list("pk", flat=True)
    for intent_id in list(waiting[:200]):
        try:
            done += capture_intent(intent_id) == "captured"
        except ProviderError as exc:
            log.warning("payment %s: capture retry failed: %s", intent_id, exc)
    return done


def _settle_refunds() -> int:
    """Re-read refunds the PSP answered `pending` until they are final."""
    settled = 0
    for intent in PaymentIntent.objects.filter(refund_status=RefundStatus.PENDING).exclude(
        refund_id=""
    )[:200]:
        try:
            refund = get_provider(intent.provider).get_refund_status(intent.refund_id)
        except ProviderError as exc:
            log.warning("payment %s: refund poll failed: %s", intent.pk, exc)
            continue
        final = {"succeeded": RefundStatus.SUCCEEDED, "canceled": RefundStatus.FAILED}
        if refund.status in final:
            with transaction.atomic():
                moved = PaymentIntent.objects.filter(
                    pk=intent.pk, refund_status=RefundStatus.PENDING
                ).update(refund_status=final[refund.status])
                if moved:
                    _audit(
                        SYSTEM, f"payment.refund_{refund.status}", intent, refund=refund.refund_id
                    )
                    settled += 1
    return settled


def poll_intents(now: datetime | None = None) -> dict[str, int]:
    """Webhook fallback: re-read pending intents at the PSP (registering ones the PSP never
    answered for), and recently closed ones to catch a late success. Safe to re-run."""
    now = now or timezone.now()
    counts = {
        "registered": 0,
        "polled": 0,
        "changed": 0,
        "captured": _retry_captures(now),
        "refunds_settled": _settle_refunds(),
        "released": release_undelivered(now),
    }
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
            models_q_pending(stale) | models_q_closed(window) | models_q_released()
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
    return Q(status=PaymentStatus.PENDING, created_at__lte=stale)


def models_q_released() -> Any:
    """Released intents whose money the PSP may still hold (the cancel or refund failed)."""
    return Q(capture_status=CaptureStatus.RELEASED, refund_status=RefundStatus.FAILED)


def models_q_closed(window: datetime) -> Any:
    return Q(
        status__in=(PaymentStatus.CANCELED, PaymentStatus.EXPIRED),
        closed_at__gte=window,
        refund_status__in=(RefundStatus.NONE, RefundStatus.FAILED),
    )
