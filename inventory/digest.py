"""The hourly stock-change digest.

`build_digests()` drains every unnotified `InventoryChange` row (in batches, rows locked with
SKIP LOCKED, the whole build under one advisory lock so two runs never take the same rows) and
hands one digest per owner — the row ids and the rendered parts — to the notifications layer,
which sends it to the owner's and admins' chats. `mark_changes_notified()`, registered for the
digests of this kind, marks the rows notified in the transaction that closes the digest, once
every part reached a final state: a crash before that sends the digest again, never loses it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal
from html import escape

from django.db import connection, transaction

from inventory.models import ChangeSource, InventoryChange, Location
from notifications import digests
from notifications.formatting import format_quantity, split_message
from notifications.models import Digest, NotificationSettings
from notifications.services import owner_and_admin_user_ids, queue_digest
from tenancy.models import Owner

logger = logging.getLogger("inventory.digest")

# The digests this module composes, as the notifications layer knows them.
DIGEST_KIND = "stock_changes"

# pg_advisory_xact_lock key for the digest build ("VKDIGEST" in spirit).
_BUILD_LOCK = 0x564B4447
SALE_SOURCES = {ChangeSource.SALE, ChangeSource.SALE_REVERSAL}
_LOCATION_ORDER: dict[str, int] = {Location.WAREHOUSE: 0, Location.STAND: 1, Location.MACHINE: 2}
_LOCATION_TITLE: dict[str, str] = {Location.STAND: "☕️ Стойка", Location.MACHINE: "⚙️ Автомат"}


def digest_header(owner_name: str) -> str:
    return f"📊 <b>Изменения остатков — {escape(owner_name)}</b>"


def digest_lines(changes: list[InventoryChange], *, include_sales: bool) -> list[str]:
    """The body of one owner's digest: warehouse first, then each terminal's stand and machine,
    the net change per item (zero totals left out), sales consumption apart when asked for."""
    manual: dict[tuple[object, ...], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    sales: dict[tuple[object, ...], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    titles: dict[tuple[object, ...], str] = {}
    for change in changes:
        is_sale = change.source in SALE_SOURCES
        if is_sale and not include_sales:
            continue
        if change.location == Location.WAREHOUSE:
            key: tuple[object, ...] = (0, "", 0, 0)
            titles[key] = "<b>📦 Склад</b>"
        else:
            terminal = change.terminal
            name = str(terminal) if terminal is not None else "Удалённый терминал"
            key = (1, name.lower(), change.terminal_id or 0, _LOCATION_ORDER[change.location])
            titles[key] = f"<b>{_LOCATION_TITLE[change.location]} · {escape(name)}</b>"
        target = sales if is_sale else manual
        target[key][change.item_name] += change.quantity_after - change.quantity_before

    sections: list[list[str]] = []
    for key in sorted(titles, key=lambda k: k):
        body = _item_lines(manual.get(key, {}))
        sold = _item_lines(sales.get(key, {}))
        if sold:
            body += ["<i>Расход по продажам:</i>", *sold]
        if body:
            sections.append([titles[key], *body])
    lines: list[str] = []
    for section in sections:
        if lines:
            lines.append("")
        lines += section
    return lines


def _item_lines(totals: dict[str, Decimal]) -> list[str]:
    return [
        f"• {escape(item)}: {format_quantity(total, signed=True)}"
        for item, total in sorted(totals.items(), key=lambda pair: pair[0].lower())
        if total.quantize(Decimal("0.001")) != 0
    ]


def build_digests(batch_size: int = 1000) -> list[int]:
    """Drain all unnotified change rows into per-owner digests and queue them; returns the ids
    of the digests that have something to send. Safe to re-run: rows of an open digest are
    never taken twice."""
    created: list[int] = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_BUILD_LOCK])
        taken = digests.open_item_ids(DIGEST_KIND)
        per_owner: dict[int, list[InventoryChange]] = defaultdict(list)
        last_id = 0
        while True:
            batch = list(
                InventoryChange.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("terminal")
                .filter(is_notified=False, pk__gt=last_id)
                .order_by("pk")[:batch_size]
            )
            if not batch:
                break
            last_id = batch[-1].pk
            for change in batch:
                if change.pk not in taken:
                    per_owner[change.owner_id].append(change)

        for owner_id, changes in sorted(per_owner.items()):
            owner = Owner.objects.get(pk=owner_id)
            include_sales = NotificationSettings.objects.filter(
                owner_id=owner_id, digest_include_sales=True
            ).exists()
            lines = digest_lines(changes, include_sales=include_sales)
            digest = queue_digest(
                kind=DIGEST_KIND,
                template="inventory_digest",
                owner_id=owner_id,
                item_ids=[c.pk for c in changes],
                chunks=split_message(digest_header(owner.name), lines) if lines else [],
                user_ids=owner_and_admin_user_ids(owner_id),
            )
            if digest.completed_at is None:
                created.append(digest.pk)
    logger.info("inventory digest: %s owner digest(s) queued", len(created))
    return created


def mark_changes_notified(digest: Digest) -> None:
    """Every part of `digest` reached a final state: its rows are done (completion handler)."""
    InventoryChange.objects.filter(pk__in=digest.item_ids).update(is_notified=True)
