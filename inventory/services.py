"""Stock changes that span rows: default containers, sale deductions and refunds (aggregated,
clamped at zero, logged once per inventory row)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.db import connection

from inventory.models import ChangeSource, Inventory, Location, Recipe
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
    owner_id: int, recipes: RecipeMap, sales: Mapping[tuple[int, int], int]
) -> list[tuple[int, str, Decimal, Decimal]]:
    """Put the ingredients of refunded `sales` back into the machines."""
    back = consumption(recipes, sales)
    return apply_machine_changes(owner_id, back, source=ChangeSource.SALE_REVERSAL)
