"""Stock changes that span rows: default containers, sale deductions and refunds (aggregated,
clamped at zero, logged once per inventory row)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Prefetch, Q
from django.utils.translation import gettext as _

from inventory.models import (
    MAX_STOCK,
    ChangeSource,
    Inventory,
    InventoryChange,
    Location,
    Recipe,
    RecipeItem,
    RecipePreset,
)
from inventory.reference import default_machine_containers

# (terminal id, machine item id) → [(ingredient, quantity per drink)]
RecipeMap = dict[tuple[int, int], list[tuple[str, Decimal]]]


def create_default_containers(owner_id: int, terminal_ids: Iterable[int]) -> int:
    """Give new terminals the 13 default machine containers (stock 0); existing rows are kept.
    Safe to re-run. Returns the number of rows created."""
    rows = [
        Inventory(
            owner_id=owner_id,
            terminal_id=terminal_id,
            location=Location.MACHINE,
            item_name=container["item"],
            current_stock=Decimal(0),
            max_stock=container["max_stock"],
            critical_stock=container["critical_stock"],
        )
        for terminal_id in terminal_ids
        for container in default_machine_containers()
    ]
    created = Inventory.objects.bulk_create(rows, ignore_conflicts=True)
    return len(created)


def load_recipes(owner_id: int) -> RecipeMap:
    """Every recipe of the owner's terminals with its ingredients (hidden recipes included:
    they still deduct). A recipe without ingredients is absent: its sales need a recipe."""
    recipes: RecipeMap = defaultdict(list)
    rows = (
        Recipe.objects.filter(terminal__owner_id=owner_id, items__quantity__gt=0)
        .values_list("terminal_id", "machine_item_id", "items__item_name", "items__quantity")
        .order_by("terminal_id", "machine_item_id", "items__item_name")
    )
    for terminal_id, machine_item_id, item_name, quantity in rows:
        recipes[(terminal_id, machine_item_id)].append((item_name, quantity))
    return dict(recipes)


def machine_rows(lookup: str = "inventories") -> Prefetch[Any]:
    """Prefetch a terminal's machine containers (by name) into `.machine_rows`."""
    return Prefetch(
        lookup,
        queryset=Inventory.objects.filter(location=Location.MACHINE).order_by("item_name"),
        to_attr="machine_rows",
    )


def containers_unconfigured(rows: Iterable[Inventory]) -> bool:
    """A terminal needs its containers configured when it has none, or one has no capacity."""
    rows = list(rows)
    return not rows or not all(row.is_configured() for row in rows)


def recipe_ingredients_by_terminal(recipes: RecipeMap) -> dict[int, set[str]]:
    names: dict[int, set[str]] = defaultdict(set)
    for (terminal_id, _item), items in recipes.items():
        names[terminal_id].update(name for name, _qty in items)
    return names


def consumption(
    recipes: RecipeMap, sales: Mapping[tuple[int, int], int]
) -> dict[tuple[int, str], Decimal]:
    """Total ingredient use per (terminal, ingredient) for sales counted per (terminal, item)."""
    totals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for (terminal_id, machine_item_id), count in sales.items():
        for name, quantity in recipes.get((terminal_id, machine_item_id), ()):
            totals[(terminal_id, name)] += quantity * count
    return dict(totals)


# The part of a statement that applies `delta(terminal_id, item_name, qty)` (negative = use) to
# the owner's machine rows, clamped at zero, and logs one change row per changed row: used alone
# by `apply_machine_changes`, and inside the import's page statement. Parameters: %(owner)s and
# %(source)s; it leaves `stock_changed` and `stock_logged` for the rest of the statement.
MACHINE_CHANGES_SQL = """
stock_locked AS (
    SELECT inv.id, inv.current_stock AS before, delta.qty
    FROM inventory_inventory inv
    JOIN delta ON inv.terminal_id = delta.terminal_id AND inv.item_name = delta.item_name
    WHERE inv.owner_id = %(owner)s AND inv.location = 'machine'
    ORDER BY inv.id
    FOR UPDATE OF inv
), stock_changed AS (
    UPDATE inventory_inventory AS inv
    SET current_stock = GREATEST(stock_locked.before + stock_locked.qty, 0), updated_at = now()
    FROM stock_locked
    WHERE inv.id = stock_locked.id
    RETURNING inv.terminal_id, inv.item_name, stock_locked.before, inv.current_stock AS after
), stock_logged AS (
    INSERT INTO inventory_inventorychange
        (owner_id, terminal_id, location, item_name, source, quantity_before, quantity_after,
         created_at, is_notified)
    SELECT %(owner)s, terminal_id, 'machine', item_name, %(source)s, before, after, now(), false
    FROM stock_changed
    WHERE before <> after
    RETURNING id
)"""


_APPLY_MACHINE_CHANGES_SQL = (
    "WITH delta AS (SELECT * FROM unnest(%(terminals)s::bigint[], %(names)s::text[], "  # noqa: S608 - constants only
    "%(deltas)s::numeric[]) AS d(terminal_id, item_name, qty)), "
    + MACHINE_CHANGES_SQL
    + " SELECT terminal_id, item_name, before, after, (SELECT count(*) FROM stock_logged)"
    " FROM stock_changed"
)


def apply_machine_changes(
    owner_id: int,
    changes: Mapping[tuple[int, str], Decimal],
    *,
    source: str,
) -> list[tuple[int, str, Decimal, Decimal]]:
    """Add `changes` (negative = use) to the terminals' machine rows in one statement, clamped at
    zero, and log one change row per inventory row. Rows that do not exist are left alone (the
    restock check reports them as "not configured"). Must run inside the caller's transaction.

    Returns (terminal id, ingredient, before, after) per changed row.
    """
    if not changes:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            _APPLY_MACHINE_CHANGES_SQL,
            {
                "terminals": [key[0] for key in changes],
                "names": [key[1] for key in changes],
                "deltas": list(changes.values()),
                "owner": owner_id,
                "source": source,
            },
        )
        return [(int(t), str(n), Decimal(b), Decimal(a)) for t, n, b, a, _ in cursor.fetchall()]


def deduct_sales(
    owner_id: int, recipes: RecipeMap, sales: Mapping[tuple[int, int], int]
) -> list[tuple[int, str, Decimal, Decimal]]:
    """Take the ingredients of `sales` (count per terminal and machine item) out of the
    machines."""
    use = {key: -qty for key, qty in consumption(recipes, sales).items()}
    return apply_machine_changes(owner_id, use, source=ChangeSource.SALE)


def restore_sales(
    owner_id: int,
    recipes: RecipeMap,
    sales: Mapping[tuple[int, int], int],
    *,
    recorded: Iterable[Iterable[Mapping[str, Any]]] = (),
) -> list[tuple[int, str, Decimal, Decimal]]:
    """Put the ingredients of refunded sales back into the machines, one logged change per row:
    exactly what each sale recorded it deducted (`recorded`: their `deducted_items`), and by the
    current recipe for `sales` deducted before that was recorded."""
    back: dict[tuple[int, str], Decimal] = defaultdict(Decimal, consumption(recipes, sales))
    amounts: dict[int, Decimal] = defaultdict(Decimal)
    for items in recorded:
        for item in items:
            amounts[int(item["inventory_id"])] += Decimal(str(item["quantity"]))
    if amounts:
        rows = Inventory.objects.filter(
            owner_id=owner_id, location=Location.MACHINE, id__in=list(amounts)
        ).values_list("id", "terminal_id", "item_name")
        for row_id, terminal_id, item_name in rows:
            back[(terminal_id, item_name)] += amounts[row_id]
    return apply_machine_changes(owner_id, dict(back), source=ChangeSource.SALE_REVERSAL)


def deduction_plan(owner_id: int, recipes: RecipeMap) -> dict[str, list[dict[str, str | int]]]:
    """What one sale of each recipe deducts, per machine stock row, keyed "terminal:item": the
    `deducted_items` the import records on each deducted sale. Ingredients without a machine row
    are left out (nothing is deducted from them)."""
    rows = {
        (terminal_id, name): row_id
        for row_id, terminal_id, name in Inventory.objects.filter(
            owner_id=owner_id, location=Location.MACHINE
        ).values_list("id", "terminal_id", "item_name")
    }
    plan: dict[str, list[dict[str, str | int]]] = {}
    for (terminal_id, machine_item_id), items in recipes.items():
        plan[f"{terminal_id}:{machine_item_id}"] = [
            {"inventory_id": rows[(terminal_id, name)], "quantity": f"{quantity:f}"}
            for name, quantity in items
            if (terminal_id, name) in rows
        ]
    return plan


# --- Staff operations: transfers, warehouse, container settings, recipes -------------------------
# Each runs in one database transaction, locks the stock rows it changes (in id order, so two
# operations never deadlock) and writes one change-log row per changed row.


class StockError(Exception):
    """An operation the stock does not allow; `field` names the input at fault (→ a 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Place:
    """Where stock sits: the owner's warehouse (no terminal), or a terminal's stand or machine."""

    location: str
    terminal_id: int | None = None

    def lookup(self) -> Q:
        return Q(location=self.location, terminal_id=self.terminal_id)


@dataclass(frozen=True)
class TransferResult:
    source: Inventory
    destination: Inventory
    # Restock tasks the move completed (a move into a machine, made through the tasks side).
    closed_task_ids: list[int] = field(default_factory=list)


def _log(
    row: Inventory, before: Decimal, source: str, user_id: int | None
) -> InventoryChange | None:
    if row.current_stock == before:
        return None
    return InventoryChange(
        owner_id=row.owner_id,
        terminal_id=row.terminal_id,
        location=row.location,
        item_name=row.item_name,
        source=source,
        quantity_before=before,
        quantity_after=row.current_stock,
        changed_by_id=user_id,
    )


def _over_capacity(row: Inventory, new_stock: Decimal) -> bool:
    return row.max_stock is not None and row.max_stock > 0 and new_stock > row.max_stock


def _check_storable(new_stock: Decimal, field: str) -> None:
    if new_stock > MAX_STOCK:
        raise StockError(
            field, _("Stock cannot exceed %(max)s.") % {"max": f"{MAX_STOCK.normalize():f}"}
        )


def _ensure_rows(owner_id: int, places: Iterable[Place], item_name: str) -> None:
    Inventory.objects.bulk_create(
        [
            Inventory(
                owner_id=owner_id,
                terminal_id=place.terminal_id,
                location=place.location,
                item_name=item_name,
            )
            for place in places
        ],
        ignore_conflicts=True,
    )


def transfer_stock(
    owner_id: int,
    source: Place,
    destination: Place,
    item_name: str,
    quantity: Decimal,
    *,
    user_id: int | None,
) -> TransferResult:
    """Move `quantity` of one ingredient between two places of one owner: never below zero at the
    source, never above the destination's capacity. Logs `transfer_out` and `transfer_in`. (Staff
    move stock through `tasks_app.services.move_stock`, which also closes a refilled machine's
    restock task.) Not idempotent by itself: each call is one move."""
    if quantity <= 0:
        raise StockError("quantity", _("Must be greater than zero."))
    if source == destination:
        raise StockError("destination", _("Source and destination are the same place."))
    with transaction.atomic():
        _ensure_rows(owner_id, [destination], item_name)
        rows = list(
            Inventory.objects.select_for_update()
            .filter(owner_id=owner_id, item_name=item_name)
            .filter(source.lookup() | destination.lookup())
            .order_by("id")
        )
        by_place = {Place(row.location, row.terminal_id): row for row in rows}
        src = by_place.get(source)
        dst = by_place[destination]
        available = src.current_stock if src else Decimal(0)
        if src is None or available < quantity:
            raise StockError(
                "quantity",
                _("Not enough stock at the source: %(available)s available.")
                % {"available": _number(available)},
            )
        if _over_capacity(dst, dst.current_stock + quantity):
            raise StockError(
                "quantity",
                _("The destination holds at most %(max)s; it has %(current)s.")
                % {"max": _number(dst.max_stock), "current": _number(dst.current_stock)},
            )
        _check_storable(dst.current_stock + quantity, "quantity")
        src_before, dst_before = src.current_stock, dst.current_stock
        src.current_stock -= quantity
        dst.current_stock += quantity
        for row in (src, dst):
            row.save(update_fields=["current_stock", "updated_at"])
        InventoryChange.objects.bulk_create(
            [
                change
                for change in (
                    _log(src, src_before, ChangeSource.TRANSFER_OUT, user_id),
                    _log(dst, dst_before, ChangeSource.TRANSFER_IN, user_id),
                )
                if change is not None
            ]
        )
    return TransferResult(source=src, destination=dst)


def adjust_warehouse(
    owner_id: int, item_name: str, quantity: Decimal, *, user_id: int | None
) -> Inventory:
    """Add (positive) or write off (negative) warehouse stock of one ingredient; never below
    zero. Logs `warehouse_adjust`. Each call is one adjustment."""
    if quantity == 0:
        raise StockError("quantity", _("Must not be zero."))
    warehouse = Place(Location.WAREHOUSE)
    with transaction.atomic():
        if quantity > 0:
            _ensure_rows(owner_id, [warehouse], item_name)
        row = (
            Inventory.objects.select_for_update()
            .filter(warehouse.lookup(), owner_id=owner_id, item_name=item_name)
            .first()
        )
        if row is None:
            raise StockError("item_name", _("The warehouse has no stock of this ingredient."))
        before = row.current_stock
        if before + quantity < 0:
            raise StockError(
                "quantity",
                _("Only %(available)s in the warehouse.") % {"available": _number(before)},
            )
        _check_storable(before + quantity, "quantity")
        row.current_stock = before + quantity
        row.save(update_fields=["current_stock", "updated_at"])
        change = _log(row, before, ChangeSource.WAREHOUSE_ADJUST, user_id)
        if change is not None:
            change.save()
    return row


def stock_up_warehouse(
    owner_id: int, items: Mapping[str, Decimal], *, user_id: int | None
) -> list[Inventory]:
    """Add a delivery (several ingredients, each > 0) to the warehouse. Logs
    `warehouse_stockup` per ingredient."""
    if not items:
        raise StockError("items", _("Name at least one ingredient."))
    warehouse = Place(Location.WAREHOUSE)
    with transaction.atomic():
        for name in items:
            _ensure_rows(owner_id, [warehouse], name)
        rows = list(
            Inventory.objects.select_for_update()
            .filter(warehouse.lookup(), owner_id=owner_id, item_name__in=list(items))
            .order_by("id")
        )
        changes = []
        for row in rows:
            before = row.current_stock
            _check_storable(before + items[row.item_name], "items")
            row.current_stock = before + items[row.item_name]
            row.save(update_fields=["current_stock", "updated_at"])
            changes.append(_log(row, before, ChangeSource.WAREHOUSE_STOCKUP, user_id))
        InventoryChange.objects.bulk_create([c for c in changes if c is not None])
    return sorted(rows, key=lambda row: row.item_name)


@dataclass(frozen=True)
class ContainerSetting:
    item_name: str
    location: str
    max_stock: Decimal | None
    critical_stock: Decimal | None


def set_container_settings(
    owner_id: int, terminal_id: int, settings: Iterable[ContainerSetting]
) -> list[Inventory]:
    """Set capacity and critical level of a terminal's stand/machine rows (created at stock 0
    when missing); current stock is untouched. Safe to re-run."""
    settings = list(settings)
    with transaction.atomic():
        for setting in settings:
            Inventory.objects.update_or_create(
                owner_id=owner_id,
                terminal_id=terminal_id,
                location=setting.location,
                item_name=setting.item_name,
                defaults={
                    "max_stock": setting.max_stock,
                    "critical_stock": setting.critical_stock,
                },
            )
    return list(
        Inventory.objects.filter(owner_id=owner_id, terminal_id=terminal_id).order_by(
            "location", "item_name"
        )
    )


def copy_container_settings(
    owner_id: int, source_terminal_id: int, destination_terminal_ids: Iterable[int]
) -> int:
    """Copy the machine containers (capacity, critical level) of one terminal to others; stock
    stays as it is, missing rows are created empty. Safe to re-run. Returns rows written."""
    source_rows = [
        ContainerSetting(row.item_name, row.location, row.max_stock, row.critical_stock)
        for row in Inventory.objects.filter(
            owner_id=owner_id, terminal_id=source_terminal_id, location=Location.MACHINE
        )
    ]
    written = 0
    with transaction.atomic():
        for terminal_id in sorted(set(destination_terminal_ids) - {source_terminal_id}):
            set_container_settings(owner_id, terminal_id, source_rows)
            written += len(source_rows)
    return written


def _number(value: Decimal | None) -> str:
    return "—" if value is None else f"{value.normalize():f}"


def save_recipe(
    terminal_id: int,
    machine_item_id: int,
    *,
    name: str,
    items: Mapping[str, Decimal],
    is_hidden: bool | None = None,
) -> Recipe:
    """Create or update the recipe of one machine item of a terminal and replace its
    ingredients with `items` (those with quantity > 0). Takes effect from the next deducted sale.
    Safe to re-run."""
    with transaction.atomic():
        defaults: dict[str, object] = {"name": name}
        if is_hidden is not None:
            defaults["is_hidden"] = is_hidden
        recipe, _created = Recipe.objects.select_for_update().update_or_create(
            terminal_id=terminal_id, machine_item_id=machine_item_id, defaults=defaults
        )
        recipe.items.all().delete()
        RecipeItem.objects.bulk_create(
            [
                RecipeItem(recipe=recipe, item_name=item, quantity=quantity)
                for item, quantity in sorted(items.items())
                if quantity > 0
            ]
        )
    return recipe


def copy_recipes(source_terminal_id: int, destination_terminal_ids: Iterable[int]) -> int:
    """Copy every recipe of one terminal to others by machine item, replacing the destination's
    ingredients. Safe to re-run. Returns how many recipes were written."""
    sources = list(Recipe.objects.filter(terminal_id=source_terminal_id).prefetch_related("items"))
    written = 0
    with transaction.atomic():
        for terminal_id in sorted(set(destination_terminal_ids) - {source_terminal_id}):
            for recipe in sources:
                save_recipe(
                    terminal_id,
                    recipe.machine_item_id,
                    name=recipe.name,
                    items={item.item_name: item.quantity for item in recipe.items.all()},
                    is_hidden=recipe.is_hidden,
                )
                written += 1
    return written


def save_owner_preset(owner_id: int, name: str, items: Mapping[str, Decimal]) -> RecipePreset:
    """Create or replace the owner's preset called `name`. Safe to re-run."""
    preset, _created = RecipePreset.objects.update_or_create(
        owner_id=owner_id, name=name, defaults={"items": preset_items(items)}
    )
    return preset


def preset_items(items: Mapping[str, Decimal]) -> list[dict[str, object]]:
    """A preset's stored ingredients: those with a quantity, by name."""
    return [
        {"item_name": item, "quantity": float(quantity)}
        for item, quantity in sorted(items.items())
        if quantity > 0
    ]
