"""Prices and 54-FZ receipts: what a service costs at a kiosk, and the `receipt` a YooKassa
payment (and its refund) carries."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import Q

from audit.services import record
from kiosk.models import Kiosk, Session, SessionType
from notifications import alerts
from payments import metrics
from payments.models import FiscalSettings, PaymentIntent, ReceiptStatus, ServicePrice

log = logging.getLogger(__name__)

ITEM_NAMES: dict[str, str] = {
    SessionType.DIAGNOSTICS: "Диагностика автомобиля (OBD-II)",
    SessionType.THICKNESS: "Проверка толщины ЛКП",
}


def price_for(kiosk: Kiosk, service_type: str) -> int:
    """The server-side price in kopecks: the kiosk's row of the price list, else the owner's,
    else the kiosk's own default."""
    rows = ServicePrice.objects.filter(
        Q(kiosk=kiosk) | Q(kiosk__isnull=True), owner_id=kiosk.owner_id, service_type=service_type
    ).values_list("kiosk_id", "amount")
    by_scope: dict[int | None, int] = dict(rows)
    if kiosk.pk in by_scope:
        return int(by_scope[kiosk.pk])
    if None in by_scope:
        return int(by_scope[None])
    return kiosk.price_for(service_type)


def _item_name(kiosk: Kiosk, service_type: str) -> str:
    row = (
        ServicePrice.objects.filter(owner_id=kiosk.owner_id, service_type=service_type)
        .filter(Q(kiosk=kiosk) | Q(kiosk__isnull=True))
        .exclude(description="")
        .order_by("kiosk_id")
        .values_list("description", flat=True)
        .first()
    )
    return (row or ITEM_NAMES.get(service_type, service_type))[:128]


def _money(kopecks: int, currency: str) -> dict[str, str]:
    return {"value": f"{kopecks // 100}.{kopecks % 100:02d}", "currency": currency}


def build_receipt(session: Session, amount: int, currency: str) -> dict[str, Any]:
    """The receipt for one service: the client's e-mail (else phone) from the session, one item
    with the owner's VAT rate, `payment_subject: service`, `payment_mode: full_payment`, and the
    owner's tax system."""
    kiosk = session.kiosk
    fiscal = FiscalSettings.objects.filter(owner_id=kiosk.owner_id).first() or FiscalSettings(
        owner_id=kiosk.owner_id
    )
    customer: dict[str, str] = {}
    if session.contact_email:
        customer["email"] = session.contact_email
    if session.contact_phone:
        customer["phone"] = session.contact_phone.lstrip("+")  # ITU-T E.164 digits
    return {
        "customer": customer,
        "items": [
            {
                "description": _item_name(kiosk, session.type),
                "quantity": "1.00",
                "amount": _money(amount, currency),
                "vat_code": int(fiscal.vat_code),
                "payment_subject": "service",
                "payment_mode": "full_payment",
            }
        ],
        "tax_system_code": int(fiscal.tax_system_code),
    }


def refund_receipt(intent: PaymentIntent) -> dict[str, Any] | None:
    """A refund's receipt: the payment's own (a full refund returns the one item)."""
    return intent.receipt or None


def alert_receipt(intent: PaymentIntent, error: str) -> None:
    """A fiscal receipt failed: tell the operators (admin alert), audit it, count it."""
    owner_id = Session.objects.filter(pk=intent.session_id).values_list(
        "kiosk__owner_id", flat=True
    )[0]
    log.error("payment %s: fiscal receipt failed: %s", intent.pk, error)
    record(
        "payment.receipt_failed",
        owner_id=owner_id,
        obj=intent,
        summary={"error": error[:500], "amount": intent.amount},
    )
    metrics.RECEIPTS_FAILED.inc()
    alerts.record_failure(
        owner_id=owner_id, context=f"payments.receipt {intent.pk}", error=error[:1000]
    )


def track_receipt(intent: PaymentIntent, registration: str) -> None:
    """Record the PSP's `receipt_registration`; its first `canceled` raises an alert."""
    if not registration or registration == intent.receipt_registration:
        return
    if registration not in ReceiptStatus.values:
        return
    changed = (
        PaymentIntent.objects.filter(pk=intent.pk)
        .exclude(receipt_registration=registration)
        .update(receipt_registration=registration)
    )
    intent.receipt_registration = registration
    if changed and registration == ReceiptStatus.CANCELED:
        alert_receipt(intent, "receipt_registration: canceled (the receipt was not registered)")
