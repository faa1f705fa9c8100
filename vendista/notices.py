"""What the operators hear about owners' Vendista accounts: an owner stopped for an unpaid
account (402), reactivated, or an operation that failed. Called inside the transaction of the
change (their rows commit with it), with ids only; a failure to notify is logged, never raised
into the import flow."""

from __future__ import annotations

import logging

from core.clock import moscow_now, moscow_today
from notifications.alerts import record_failure
from notifications.services import never_raises, notify_admin_chat
from tenancy.models import Owner
from vendista.models import VendistaAccount

logger = logging.getLogger("vendista.notices")

_SOURCES = {"import": "импорт транзакций", "sync": "синхронизация терминалов", "token": "токен"}


@never_raises
def payment_required(*, owner_id: int, source: str, error: str) -> None:
    """Vendista answered 402 for this owner (`source`: "import", "sync" or "token").

    Called exactly once per transition to `payment_required` (the caller guarantees it); the
    delivery is also keyed on the transition, so a repeated call never sends a second notice.
    """
    logger.warning("event payment_required owner=%s source=%s", owner_id, source)
    owner = Owner.objects.get(pk=owner_id)
    since = (
        VendistaAccount.objects.filter(owner_id=owner_id)
        .values_list("payment_required_at", flat=True)
        .first()
    )
    marker = since.isoformat() if since else moscow_today().isoformat()
    notify_admin_chat(
        template="payment_required",
        context={
            "owner_name": owner.name,
            "owner_id": owner_id,
            "source": source,
            "source_label": _SOURCES.get(source, source),
            "time": moscow_now().strftime("%d.%m.%Y %H:%M:%S"),
            "error": error[:1500],
        },
        dedup_key=f"payment_required:{owner_id}:{marker}",
    )


@never_raises
def owner_reactivated(*, owner_id: int) -> None:
    """The 04:00 check (or a staff reset) found the owner's Vendista access working again."""
    logger.info("event owner_reactivated owner=%s", owner_id)
    owner = Owner.objects.get(pk=owner_id)
    notify_admin_chat(
        template="owner_reactivated", context={"owner_name": owner.name, "owner_id": owner_id}
    )


@never_raises
def operation_failed(*, owner_id: int | None, context: str, error: str) -> None:
    """A Vendista operation failed for a reason staff should know about (grouped, de-duplicated,
    capped per hour by the admin alerts)."""
    logger.warning("event import_failed owner=%s context=%s error=%s", owner_id, context, error)
    record_failure(owner_id=owner_id, context=context, error=error)
