"""Payment intents: create, settle (DEV emulator, webhook, poll), expire, late-success refund.

Every status change is a conditional `UPDATE ... WHERE status = 'pending'` (or a row lock), so a
webhook, the poller, the emulator and the expiry sweep can race without a double transition; the
terminal states never change again. A success the PSP reports for an intent we already closed is
refunded through the PSP with its own idempotence key.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import ActorKind
from audit.services import SYSTEM, Actor
from core.db import prepared
from core.jobs import enqueue
from kiosk.models import Kiosk, Session, SessionStatus
from payments import metrics
from payments.models import (
    PAYABLE_STATUSES,
    CaptureStatus,
    PaymentIntent,
    PaymentStatus,
    RefundStatus,
)
from payments.providers import (
    CreatePayment,
    ProviderError,
    ProviderPayment,
    ProviderRefund,
    ProviderRejected,
    ProviderUnavailable,
    get_provider,
)
from payments.services.receipts import (
    alert_receipt,
    build_receipt,
    price_for,
    refund_receipt,
    track_receipt,
)
from payments.status_cache import STATUS_CACHE

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


class AmountMismatch(Exception):
    """The kiosk asked for an amount other than the server's price (HTTP 400 on `amount`)."""

    def __init__(self, price: int) -> None:
        super().__init__(f"the price of this service is {price} kopecks")
        self.price = price


def _open_intent(session: Session) -> PaymentIntent | None:
    return session.payments.filter(status__in=PAYABLE_STATUSES).first()


def create_intent(
    *,
    kiosk: Kiosk,
    session_id: Any,
    amount: int | None = None,
    currency: str | None = None,
    metadata: dict[str, Any] | None = None,
    actor: Actor = SYSTEM,
) -> tuple[PaymentIntent, bool]:
    """Create the one payable intent of an active session of `kiosk` at the server's price and
    register it at the PSP; returns (intent, created). A second call while the first intent is
    open returns that intent (created False); a paid session is a `PaymentConflict`. The
    partial unique index `payment_one_payable_per_session` makes this hold under races.

    A PSP that does not answer leaves the intent pending without a QR code; the poller retries
    the create with the same idempotence key, so the client is never charged twice.
    """
    session = Session.objects.select_related("kiosk").filter(pk=session_id, kiosk=kiosk).first()
    if session is None:
        raise Session.DoesNotExist
    if session.status != SessionStatus.ACTIVE or session.expires_at <= timezone.now():
        raise PaymentConflict(f"session is {session.status}: no new payment")
    price = price_for(kiosk, session.type)
    if amount is not None and amount != price:
        raise AmountMismatch(price)
    provider = get_provider()
    if settings.IS_PROD and provider.name == "dev":
        raise PaymentConflict("no payment provider in PROD: set PAYMENTS_PROVIDER=yookassa")
    now = timezone.now()
    try:
        with transaction.atomic():
            # Serialise creates for one session; the index stops any other path as well.
            Session.objects.select_for_update().filter(pk=session.pk).first()
            existing = _open_intent(session)
            if existing is not None:
                if existing.status == PaymentStatus.SUCCEEDED:
                    raise PaymentConflict("session is already paid")
                return existing, False
            currency = currency or settings.PAYMENTS_CURRENCY
            intent = PaymentIntent(
                session=session,
                amount=price,
                currency=currency,
                provider=provider.name,
                metadata=metadata or {},
                expires_at=now + timedelta(seconds=settings.PAYMENTS_INTENT_TTL_S),
            )
            if provider.name == "yookassa":
                intent.receipt = build_receipt(session, price, currency)
            # Deterministic: a retried create (ours or the poller's) reuses it (≤ 64 chars).
            intent.idempotency_key = f"vk-intent-{intent.id}"
            if provider.name == "dev" and not settings.PAYMENTS_DEV_MANUAL_MODE:
                delay = timedelta(milliseconds=settings.PAYMENTS_DEV_AUTO_CONFIRM_DELAY_MS)
                intent.due_at = now + delay
            intent.save()
            _audit(
                actor, "payment.created", intent, provider=provider.name, session=str(session.pk)
            )
    except IntegrityError:
        existing = _open_intent(session)
        if existing is None:
            raise
        if existing.status == PaymentStatus.SUCCEEDED:
            raise PaymentConflict("session is already paid") from None
        return existing, False
    metrics.PAYMENTS_INTENTS.inc()
    register_at_provider(intent)
    if intent.due_at is not None:
        enqueue(
            "payments.tasks.confirm_dev_intent",
            intent_id=str(intent.id),
            countdown=settings.PAYMENTS_DEV_AUTO_CONFIRM_DELAY_MS / 1000,
        )
    intent.refresh_from_db()
    return intent, True


_STATUS_SQL = """
    SELECT s.kiosk_id, i.id, i.status, i.amount, i.currency, i.qr_code_data, i.expires_at
    FROM payments_paymentintent i JOIN kiosk_session s ON s.id = i.session_id
    WHERE i.id = %s
"""
_STATUS_COLUMNS = ("id", "status", "amount", "currency", "qr_code_data", "expires_at")


def status_document(
    intent_id: Any, *, kiosk_id: int, render: Callable[[dict[str, Any]], bytes]
) -> bytes | None:
    """The status document of one of the kiosk's intents, as `render` writes the row: the poll
    a kiosk makes every second or two. From this process's cache (payments/status_cache.py)
    while the intent is unchanged; otherwise one statement on two primary keys with no ORM
    query building. None when the kiosk has no such intent."""
    key = str(uuid.UUID(str(intent_id)))  # as PostgreSQL spells it in the notice

    def load() -> tuple[int, bytes] | None:
        row = prepared.fetch_one(_STATUS_SQL, [key])
        if row is None:
            return None
        return row[0], render(dict(zip(_STATUS_COLUMNS, row[1:], strict=True)))

    found = STATUS_CACHE.get(key, load)
    if found is None or found[0] != kiosk_id:
        return None
    return found[1]


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
        hold=True,
        receipt=intent.receipt or None,
    )
    for attempt in range(1, attempts + 1):
        try:
            payment = provider.create_payment(request)
            break
        except ProviderUnavailable as exc:
            log.warning("payment %s: create attempt %s failed: %s", intent.pk, attempt, exc)
        except ProviderRejected as exc:
            _fail(intent, reason="provider_rejected", detail=str(exc))
            if "receipt" in str(exc):
                alert_receipt(intent, f"receipt refused at create: {exc}")
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
    capture_status: str = CaptureStatus.HELD,
) -> bool:
    """Move the intent to a terminal `status` if it is still in `from_statuses`; True if moved."""
    now = timezone.now()
    fields: dict[str, Any] = {"status": status, "closed_at": now, "updated_at": now}
    if status == PaymentStatus.SUCCEEDED:
        fields["confirmed_at"] = now
        fields["capture_status"] = capture_status
    if reason:
        fields["failure_reason"] = reason[:100]
    moved = PaymentIntent.objects.filter(pk=intent.pk, status__in=from_statuses).update(**fields)
    if moved:
        intent.refresh_from_db()
        seconds = (now - intent.created_at).total_seconds()
        metrics.PAYMENTS_DURATION.labels(status=status).observe(seconds)
    return bool(moved)


def confirm_intent(
    intent: PaymentIntent,
    *,
    actor: Actor = SYSTEM,
    source: str,
    capture_status: str = CaptureStatus.HELD,
) -> bool:
    """Mark a pending intent succeeded, its money held until the service is delivered (safe to
    repeat: only the first call changes it). The session then lives at least until the service
    deadline, so a paid client is never turned away as "expired"."""
    with transaction.atomic():
        if not _close(intent, status=PaymentStatus.SUCCEEDED, capture_status=capture_status):
            return False
        deadline = timezone.now() + timedelta(seconds=settings.PAYMENTS_SERVICE_DEADLINE_S)
        Session.objects.filter(
            pk=intent.session_id, status=SessionStatus.ACTIVE, expires_at__lt=deadline
        ).update(expires_at=deadline)
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
    track_receipt(intent, payment.receipt_registration)
    if payment.status in ("held", "succeeded"):
        if intent.status == PaymentStatus.PENDING:
            capture = CaptureStatus.HELD if payment.status == "held" else CaptureStatus.CAPTURED
            return (
                "confirmed"
                if confirm_intent(
                    intent, actor=PROVIDER_ACTOR, source=source, capture_status=capture
                )
                else ("unchanged")
            )
        if intent.status in (PaymentStatus.CANCELED, PaymentStatus.EXPIRED):
            return refund_late_success(intent, source=source, held=payment.status == "held")
        if (
            intent.capture_status == CaptureStatus.RELEASED
            and intent.refund_status != RefundStatus.SUCCEEDED
            and intent.refund_status != RefundStatus.PENDING
        ):
            return release_at_provider(intent)  # our earlier cancel or refund did not land
        return "unchanged"
    if (
        payment.status == "canceled"
        and payment.cancellation_reason == "canceled_by_merchant"
        and intent.status in (PaymentStatus.CANCELED, PaymentStatus.EXPIRED)
        and intent.refund_status not in (RefundStatus.PENDING, RefundStatus.SUCCEEDED)
    ):
        # Only a hold can be cancelled, and we cancel the hold of an intent we closed only to
        # give a late success back: that release landed, but its record was lost (PostgreSQL
        # went away between the PSP's answer and our commit).
        return record_landed_release(intent, source=source)
    if payment.status == "canceled" and intent.status == PaymentStatus.PENDING:
        reason = payment.cancellation_reason or "canceled"
        return (
            "canceled"
            if _fail(intent, reason=reason, status=PaymentStatus.CANCELED)
            else ("unchanged")
        )
    return "unchanged"


def record_landed_release(intent: PaymentIntent, *, source: str) -> str:
    """Record a late success's hold as given back when the PSP shows it cancelled by us. Safe
    to re-run."""
    with transaction.atomic():
        locked = PaymentIntent.objects.select_for_update().get(pk=intent.pk)
        if locked.refund_status in (RefundStatus.PENDING, RefundStatus.SUCCEEDED):
            return "already_refunded"
        locked.refund_status = RefundStatus.SUCCEEDED
        locked.refunded_at = timezone.now()
        locked.save(update_fields=["refund_status", "refunded_at", "updated_at"])
        _audit(
            SYSTEM,
            "payment.late_success_refunded",
            locked,
            source=source,
            refund_id="",
            closed_as=locked.status,
            recorded_after_the_fact=True,
        )
    log.warning("payment %s: late success given back earlier, recorded now", locked.pk)
    intent.refresh_from_db()
    return "refunded"


def refund_late_success(intent: PaymentIntent, *, source: str, held: bool = False) -> str:
    """The PSP took money for an intent that is not the session's live one (we closed it):
    give it back once — a hold is cancelled (no fee), a captured payment refunded with its own
    key and receipt — audit it, count it as
    `payments_failed_total{reason="late_success_refunded"}`."""
    with transaction.atomic():
        locked = PaymentIntent.objects.select_for_update().get(pk=intent.pk)
        if locked.refund_status in (RefundStatus.PENDING, RefundStatus.SUCCEEDED):
            return "already_refunded"
        provider = get_provider(locked.provider)
        try:
            if held:
                provider.cancel_payment(
                    locked.provider_payment_id or "", locked.release_idempotency_key
                )
                refund = ProviderRefund(refund_id="", status="succeeded")
            else:
                refund = provider.refund_payment(
                    locked.provider_payment_id or "",
                    locked.amount,
                    locked.currency,
                    locked.refund_idempotency_key,
                    refund_receipt(locked),
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


# --- Release: the service never came ----------------------------------------------------------


def release_at_provider(intent: PaymentIntent) -> str:
    """Give a released intent's money back at the PSP: cancel the hold (no fee), or refund a
    payment already captured (with its receipt). Idempotent keys make a retry safe."""
    if not intent.provider_payment_id:  # never reached the PSP: nothing is held there
        return "nothing_held"
    provider = get_provider(intent.provider)
    try:
        payment = provider.get_payment_status(intent.provider_payment_id or "")
        if payment.status == "held":
            provider.cancel_payment(
                intent.provider_payment_id or "", intent.release_idempotency_key
            )
            PaymentIntent.objects.filter(pk=intent.pk).update(
                refund_status=RefundStatus.SUCCEEDED, refunded_at=timezone.now()
            )
            return "hold_canceled"
        if payment.status == "succeeded":
            refund = provider.refund_payment(
                intent.provider_payment_id or "",
                intent.amount,
                intent.currency,
                intent.refund_idempotency_key,
                refund_receipt(intent),
            )
            PaymentIntent.objects.filter(pk=intent.pk).update(
                refund_status=(
                    RefundStatus.SUCCEEDED if refund.status == "succeeded" else RefundStatus.PENDING
                ),
                refund_id=refund.refund_id,
                refunded_at=timezone.now(),
            )
            return "refunded"
    except ProviderError as exc:
        log.warning("payment %s: release at PSP failed (retried by the poller): %s", intent.pk, exc)
        PaymentIntent.objects.filter(pk=intent.pk).update(refund_status=RefundStatus.FAILED)
        return "release_failed"
    return "nothing_held"


def release_intent(intent: PaymentIntent, *, reason: str, actor: Actor = SYSTEM) -> str:
    """The paid service was not delivered (it failed, the client left, or its deadline passed):
    release the held money once, audit it and count it in `payments_failed_total{reason}`.
    A payment whose capture was already requested (a report is being made) is kept."""
    with transaction.atomic():
        moved = PaymentIntent.objects.filter(
            pk=intent.pk,
            status=PaymentStatus.SUCCEEDED,
            capture_status=CaptureStatus.HELD,
            capture_requested_at__isnull=True,
        ).update(
            capture_status=CaptureStatus.RELEASED,
            failure_reason=reason[:100],
            updated_at=timezone.now(),
        )
        if not moved:
            return "unchanged"
        intent.refresh_from_db()
        _audit(actor, "payment.released", intent, reason=reason)
    metrics.PAYMENTS_FAILED.labels(reason=reason).inc()
    log.warning("payment %s: service not delivered (%s), money released", intent.pk, reason)
    return release_at_provider(intent)
