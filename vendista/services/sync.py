"""Terminal sync: the owner's terminals as Vendista lists them."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from inventory.services import create_default_containers
from vendista.client import VendistaClient, VendistaTerminal
from vendista.models import ImportMode, PaymentStatus, Terminal, VendistaAccount
from vendista.pipeline import ImportContext, resolve_unknown_terminal_sales
from vendista.services import accounts

logger = logging.getLogger(__name__)


def sync_terminals_with(owner_id: int, client: VendistaClient) -> dict[str, int]:
    """Fetch the owner's terminals and store them: new ones get the default machine containers,
    missing ones are deactivated (never all at once on an empty answer), a successful call sets
    the payment status back to active, and sales kept for unknown terminals are now deducted.
    Safe to re-run."""
    listed = client.get_terminals()
    return store_terminals(owner_id, listed)


def store_terminals(owner_id: int, listed: list[VendistaTerminal]) -> dict[str, int]:
    """Store a terminal list Vendista gave (see `sync_terminals_with`). Safe to re-run."""
    now = timezone.now()
    counts = {
        "listed": len(listed),
        "created": 0,
        "updated": 0,
        "deactivated": 0,
        "deducted": 0,
        "tasks_created": 0,
    }
    with transaction.atomic():
        existing = {
            t.vendista_id: t for t in Terminal.objects.select_for_update().filter(owner_id=owner_id)
        }
        new_ids: list[int] = []
        for item in listed:
            terminal = existing.get(item.id)
            if terminal is None:
                terminal = Terminal.objects.create(
                    owner_id=owner_id,
                    vendista_id=item.id,
                    name=item.comment,
                    serial_number=item.serial_number,
                    last_online_time=item.last_online_time,
                    is_online=item.is_online,
                    is_active=True,
                    last_synced_at=now,
                )
                new_ids.append(terminal.pk)
                counts["created"] += 1
            else:
                terminal.name = item.comment or terminal.name
                terminal.serial_number = item.serial_number
                terminal.last_online_time = item.last_online_time
                terminal.is_online = item.is_online
                terminal.is_active = True
                terminal.last_synced_at = now
                terminal.save()
                counts["updated"] += 1
        listed_ids = {item.id for item in listed}
        if listed:
            counts["deactivated"] = (
                Terminal.objects.filter(owner_id=owner_id, is_active=True)
                .exclude(vendista_id__in=listed_ids)
                .update(is_active=False, is_online=False, updated_at=now)
            )
        elif existing:
            logger.warning(
                "vendista listed no terminals for owner %s; keeping %s active terminals",
                owner_id,
                len(existing),
            )
        create_default_containers(owner_id, new_ids)
        VendistaAccount.objects.filter(owner_id=owner_id).update(last_terminal_sync_at=now)
        was_suspended = VendistaAccount.objects.filter(
            owner_id=owner_id, payment_status=PaymentStatus.PAYMENT_REQUIRED
        ).exists()
    if was_suspended:
        accounts.reactivate(owner_id, reason="sync")
    with transaction.atomic():
        resolved = resolve_unknown_terminal_sales(ImportContext.load(owner_id, ImportMode.REGULAR))
    counts["deducted"] = resolved.deducted
    counts["resolved"] = resolved.resolved
    counts["tasks_created"] = resolved.tasks_created
    return counts


def sync_for_import(owner_id: int) -> dict[str, int]:
    """A sync in the middle of an import (its pages named terminals we do not know yet)."""
    stored = VendistaAccount.objects.get(owner_id=owner_id)
    client = accounts.make_client(stored)
    try:
        return sync_terminals_with(owner_id, client)
    finally:
        accounts.save_token(owner_id, client, accounts.decrypt_or_empty(stored.token_encrypted))
        client.close()
