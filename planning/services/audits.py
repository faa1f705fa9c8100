"""Stock audits: a measured container level against its book stock, the shrinkage report and
recipe corrections suggested by variance that keeps pointing one way."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.files import File
from django.db import transaction
from django.db.models import Avg, Q, Sum
from django.utils.translation import gettext as _

from inventory.models import (
    MAX_STOCK,
    ChangeSource,
    Inventory,
    InventoryChange,
    Location,
    RecipeItem,
)
from inventory.reference import units
from planning.models import AuditMethod, StockAudit
from planning.services.picklists import PlanningError

# A recipe correction is suggested after this many audits in a row with variance one way.
SUGGEST_AFTER_AUDITS = 3
BOOK_USE_SOURCES = (ChangeSource.SALE, ChangeSource.SALE_REVERSAL)
REFILL_SOURCES = (ChangeSource.RESTOCK_TASK, ChangeSource.TRANSFER_IN, ChangeSource.AUDIT)


def record_audit(
    owner_id: int,
    inventory_id: int,
    measured: Decimal,
    *,
    method: str,
    user_id: int | None,
    photo: File[Any] | None = None,
    comment: str = "",
) -> StockAudit:
    """Record the measured level of one machine container: the audit keeps book and measured,
    and the book stock moves to the measured level in one change-log row of kind `audit` (its
    delta is the variance). Each call is one audit."""
    if measured < 0:
        raise PlanningError("measured_level", _("Must not be negative."))
    if measured > MAX_STOCK:
        raise PlanningError("measured_level", _("Too large."))
    if method not in AuditMethod.values:
        raise PlanningError("method", _("Unknown method."))
    with transaction.atomic():
        row = (
            Inventory.objects.select_for_update()
            .filter(pk=inventory_id, owner_id=owner_id, location=Location.MACHINE)
            .first()
        )
        if row is None:
            raise PlanningError("inventory", _("No such machine container."))
        assert row.terminal_id is not None
        book = row.current_stock
        audit = StockAudit(
            owner_id=owner_id,
            inventory=row,
            terminal_id=row.terminal_id,
            item_name=row.item_name,
            book_level=book,
            measured_level=measured,
            method=method,
            comment=comment,
            audited_by_id=user_id,
        )
        if photo is not None:
            audit.photo.save(photo.name or "audit.jpg", photo, save=False)
        audit.save()
        if measured != book:
            row.current_stock = measured
            row.save(update_fields=["current_stock", "updated_at"])
            InventoryChange.objects.create(
                owner_id=owner_id,
                terminal_id=row.terminal_id,
                location=row.location,
                item_name=row.item_name,
                source=ChangeSource.AUDIT,
                quantity_before=book,
                quantity_after=measured,
                changed_by_id=user_id,
            )
    return audit


@dataclass
class ShrinkageRow:
    terminal_id: int
    terminal_name: str
    item_name: str
    audits: int
    shortage: Decimal  # what was missing against the books (sum of negative variances, > 0)
    surplus: Decimal  # what was found above the books
    variance: Decimal  # measured minus book, summed


def shrinkage(
    owner_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    terminal_id: int | None = None,
    item_name: str | None = None,
) -> list[ShrinkageRow]:
    """Variance found by the audits of the period, per terminal and ingredient. Reads only."""
    audits = StockAudit.objects.filter(owner_id=owner_id)
    if since is not None:
        audits = audits.filter(created_at__gte=since)
    if until is not None:
        audits = audits.filter(created_at__lt=until)
    if terminal_id is not None:
        audits = audits.filter(terminal_id=terminal_id)
    if item_name:
        audits = audits.filter(item_name=item_name)
    totals: dict[tuple[int, str], ShrinkageRow] = {}
    for audit in audits.select_related("terminal").order_by("terminal_id", "item_name"):
        key = (audit.terminal_id, audit.item_name)
        row = totals.get(key)
        if row is None:
            row = totals[key] = ShrinkageRow(
                terminal_id=audit.terminal_id,
                terminal_name=str(audit.terminal),
                item_name=audit.item_name,
                audits=0,
                shortage=Decimal(0),
                surplus=Decimal(0),
                variance=Decimal(0),
            )
        row.audits += 1
        row.variance += audit.variance
        if audit.variance < 0:
            row.shortage -= audit.variance
        else:
            row.surplus += audit.variance
    return list(totals.values())


@dataclass
class RecipeSuggestion:
    terminal_id: int
    item_name: str
    recipe_quantity: Decimal  # per drink, averaged over the terminal's recipes using it
    measured_quantity: Decimal
    audits: int
    text: str


def _book_use(row: Inventory, terminal_id: int, since: datetime | None, until: datetime) -> Decimal:
    changes = InventoryChange.objects.filter(
        owner_id=row.owner_id,
        terminal_id=terminal_id,
        location=row.location,
        item_name=row.item_name,
        source__in=BOOK_USE_SOURCES,
        created_at__lt=until,
    )
    if since is not None:
        changes = changes.filter(created_at__gte=since)
    moved = changes.aggregate(before=Sum("quantity_before"), after=Sum("quantity_after"))
    return (moved["before"] or Decimal(0)) - (moved["after"] or Decimal(0))


def suggest_recipe_corrections(owner_id: int) -> list[RecipeSuggestion]:
    """For each container whose last SUGGEST_AFTER_AUDITS audits all found variance in the same
    direction: the per-drink quantity the measurements imply, against the recipe. The variance
    of an audit accrued since the container's previous audit or refill. Reads only."""
    unit_of = units()
    audits_by_row: dict[int, list[StockAudit]] = defaultdict(list)
    for audit in StockAudit.objects.filter(owner_id=owner_id).order_by("created_at", "id"):
        audits_by_row[audit.inventory_id].append(audit)
    suggestions: list[RecipeSuggestion] = []
    for _inventory_id, audits in sorted(audits_by_row.items()):
        streak = audits[-SUGGEST_AFTER_AUDITS:]
        if len(streak) < SUGGEST_AFTER_AUDITS:
            continue
        signs = {(a.variance > 0) - (a.variance < 0) for a in streak}
        if signs not in ({1}, {-1}):
            continue
        row = streak[-1].inventory
        terminal_id = streak[-1].terminal_id
        book_use = Decimal(0)
        variance = Decimal(0)
        for audit in streak:
            previous = [a for a in audits if a.created_at < audit.created_at]
            since = (
                previous[-1].created_at
                if previous
                else _last_refill(row, terminal_id, audit.created_at)
            )
            book_use += _book_use(row, terminal_id, since, audit.created_at)
            variance += audit.variance
        if book_use <= 0:
            continue
        recipe = RecipeItem.objects.filter(
            recipe__terminal_id=terminal_id, item_name=row.item_name
        ).aggregate(avg=Avg("quantity"))["avg"]
        if not recipe:
            continue
        recipe = Decimal(recipe).quantize(Decimal("0.1"))
        measured = (recipe * (book_use - variance) / book_use).quantize(Decimal("0.1"))
        unit = unit_of.get(row.item_name, "")
        suggestions.append(
            RecipeSuggestion(
                terminal_id=terminal_id,
                item_name=row.item_name,
                recipe_quantity=recipe,
                measured_quantity=measured,
                audits=len(streak),
                text=_(
                    "%(item)s: %(measured)s %(unit)s per cup measured against %(recipe)s "
                    "%(unit)s in the recipe"
                )
                % {
                    "item": row.item_name,
                    "measured": _num(measured),
                    "recipe": _num(recipe),
                    "unit": unit,
                },
            )
        )
    return suggestions


def _last_refill(row: Inventory, terminal_id: int, before: datetime) -> datetime | None:
    found = (
        InventoryChange.objects.filter(
            owner_id=row.owner_id,
            terminal_id=terminal_id,
            location=row.location,
            item_name=row.item_name,
            created_at__lt=before,
        )
        .filter(Q(source__in=REFILL_SOURCES))
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return found


def _num(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text
