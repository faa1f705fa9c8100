"""Capture: the service was delivered (its report generated), so the held money is taken —
exactly once: the request is recorded first, the PSP call carries the intent's own capture key
(a repeat after a lost answer captures nothing twice), and the poller retries until the PSP
confirms."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import SYSTEM
from core.jobs import enqueue_on_commit
from payments import metrics
from payments.models import CaptureStatus, PaymentIntent, PaymentStatus
from payments.providers import ProviderError, ProviderRejected, get_provider
from payments.services.intents import _audit, release_intent

log = logging.getLogger(__name__)

CAPTURE_TASK = "payments.tasks.capture_payment_intent"


def paid_intent(session_id: Any, amount: int) -> PaymentIntent | None:
    """The session's paid intent of exactly `amount` whose money is held or taken."""
    return PaymentIntent.objects.filter(
        session_id=session_id,
        status=PaymentStatus.SUCCEEDED,
        amount=amount,
        capture_status__in=(CaptureStatus.HELD, CaptureStatus.CAPTURED),
    ).first()


def request_capture(session_id: Any) -> int:
    """The session's service was delivered: mark its held intent for capture and queue the
    capture (after commit). Safe to re-run. Returns how many intents were marked."""
    ids = list(
        PaymentIntent.objects.filter(
            session_id=session_id,
            status=PaymentStatus.SUCCEEDED,
            capture_status=CaptureStatus.HELD,
        ).values_list("pk", flat=True)
    )
    marked = PaymentIntent.objects.filter(pk__in=ids, capture_requested_at__isnull=True).update(
        capture_requested_at=timezone.now()
    )
    for intent_id in ids:
        enqueue_on_commit(CAPTURE_TASK, intent_id=str(intent_id))
    return marked


def capture_intent(intent_id: Any) -> str:
    """Capture one intent whose capture was requested. Safe to re-run: a captured intent is
    left alone and the PSP de-duplicates by the capture key. Raises `ProviderUnavailable`
    (the task retries; the poller too)."""
    intent = PaymentIntent.objects.get(pk=intent_id)
    if intent.capture_status != CaptureStatus.HELD or intent.capture_requested_at is None:
        return intent.capture_status or "not_held"
    provider = get_provider(intent.provider)
    try:
        payment = provider.capture_payment(
            intent.provider_payment_id or "",
            intent.amount,
            intent.currency,
            intent.capture_idempotency_key,
        )
    except ProviderRejected as exc:
        # The hold is gone at the PSP (expired or cancelled there): nothing to capture.
        log.error("payment %s: capture refused: %s", intent.pk, exc)
        _audit(SYSTEM, "payment.capture_failed", intent, error=str(exc)[:300])
        return "capture_refused"
    if payment.status != "succeeded":
        raise ProviderError(f"capture answered {payment.status}")
    with transaction.atomic():
        moved = PaymentIntent.objects.filter(
            pk=intent.pk, capture_status=CaptureStatus.HELD
        ).update(capture_status=CaptureStatus.CAPTURED, captured_at=timezone.now())
        if not moved:
            return "already_captured"
        _audit(SYSTEM, "payment.captured", intent)
    metrics.PAYMENTS_CAPTURED.inc()
    return "captured"


def release_session_payment(session_id: Any, *, reason: str) -> int:
    """The session's service failed or will not come: release its held money. Safe to re-run."""
    released = 0
    for intent in PaymentIntent.objects.filter(
        session_id=session_id, status=PaymentStatus.SUCCEEDED, capture_status=CaptureStatus.HELD
    ):
        released += release_intent(intent, reason=reason) != "unchanged"
    return released
