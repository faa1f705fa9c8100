"""One page of Vendista transactions → the database, in one transaction: a multi-row upsert,
the deductions for the page's newly inserted sales (aggregated per inventory row, clamped at
zero), refunds restored exactly once, and the restock check of the touched terminals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction

from inventory.services import RecipeMap, deduct_sales, restore_sales
from tasks_app.services import evaluate_restock
from vendista.client import parse_vendista_time
from vendista.models import DeductionState, ImportMode

D = DeductionState


@dataclass(slots=True)
class Row:
    id: int
    term_id: int | None
    machine_item_id: int | None
    amount: int
    time: datetime
    result: str
    reverse_id: int
    status: str
    terminal_comment: str
    card_number: str
    bonus: Decimal
    left_sum: Decimal
    left_bonus: Decimal

    @property
    def is_sale(self) -> bool:
        return self.result == "1" and self.reverse_id == 0


@dataclass
class PageResult:
    fetched: int = 0
    invalid: int = 0
    inserted: int = 0
    updated: int = 0
    deducted: int = 0
    needs_recipe: int = 0
    unknown_terminal: int = 0
    restored: int = 0
    tasks_created: int = 0
    unknown_term_ids: set[int] = field(default_factory=set)


@dataclass
class ImportContext:
    """What a run keeps between pages."""

    owner_id: int
    mode: str
    terminals: dict[int, int]  # Vendista terminal id → our terminal id
    recipes: RecipeMap
    recipe_items: dict[int, set[str]]
    seen: set[int] = field(default_factory=set)


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _code(value: Any) -> str:
    """Vendista sends `result`/`status` as numbers or strings: 1, "1", 1.0 → "1"."""
    if value is None:
        return "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)[:32]


def _money(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def parse_rows(items: list[dict[str, Any]], seen: set[int]) -> tuple[list[Row], int]:
    """Raw page items → rows, skipping ids already seen in this run; returns (rows, invalid)."""
    rows: list[Row] = []
    invalid = 0
    for raw in items:
        tx_id = _int(raw.get("id")) if isinstance(raw, dict) else None
        moment = parse_vendista_time(raw.get("time")) if tx_id is not None else None
        if tx_id is None or moment is None:
            invalid += 1
            continue
        if tx_id in seen:
            continue
        seen.add(tx_id)
        machine_items = raw.get("machine_item")
        machine_item_id = None
        if isinstance(machine_items, list) and machine_items:
            first = machine_items[0]
            if isinstance(first, dict):
                machine_item_id = _int(first.get("machine_item_id"))
        rows.append(
            Row(
                id=tx_id,
                term_id=_int(raw.get("term_id")),
                machine_item_id=machine_item_id,
                amount=_int(raw.get("sum")) or 0,
                time=moment,
                result=_code(raw.get("result")),
                reverse_id=_int(raw.get("reverse_id")) or 0,
                status=_code(raw.get("status")),
                terminal_comment=str(raw.get("terminal_comment") or "")[:255],
                card_number=str(raw.get("card_number") or "")[:32],
                bonus=_money(raw.get("bonus")),
                left_sum=_money(raw.get("left_sum")),
                left_bonus=_money(raw.get("left_bonus")),
            )
        )
    return rows, invalid


def intended_state(row: Row, ctx: ImportContext, reversed_ids: set[int]) -> str:
    """What happens to this row if it is new."""
    if not row.is_sale or row.id in reversed_ids:
        return D.NOT_A_SALE
    if ctx.mode == ImportMode.HISTORICAL:
        return D.HISTORICAL
    if row.term_id is None or row.term_id not in ctx.terminals:
        return D.UNKNOWN_TERMINAL
    if row.machine_item_id is None:
        return D.NO_ITEM
    if (ctx.terminals[row.term_id], row.machine_item_id) not in ctx.recipes:
        return D.NEEDS_RECIPE
    return D.DEDUCTED


UPSERT_SQL = """
INSERT INTO vendista_transaction AS t
    (id, owner_id, vendista_terminal_id, terminal_id, machine_item_id, amount, time, result,
     reverse_id, status, terminal_comment, card_number, bonus, left_sum, left_bonus,
     deduction_state, deducted_at, first_seen_at, last_updated_at)
SELECT u.id, %s, u.term, u.terminal, u.item, u.amount, u.time, u.result, u.reverse_id,
       u.status, u.comment, u.card, u.bonus, u.left_sum, u.left_bonus, u.state,
       CASE WHEN u.state = 'deducted' THEN now() END, now(), now()
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::int[], %s::bigint[],
            %s::timestamptz[], %s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[],
            %s::numeric[], %s::numeric[], %s::numeric[], %s::text[])
     AS u(id, term, terminal, item, amount, time, result, reverse_id, status, comment, card,
          bonus, left_sum, left_bonus, state)
ON CONFLICT (id) DO UPDATE SET
    vendista_terminal_id = EXCLUDED.vendista_terminal_id,
    terminal_id = COALESCE(EXCLUDED.terminal_id, t.terminal_id),
    machine_item_id = EXCLUDED.machine_item_id,
    amount = EXCLUDED.amount,
    time = EXCLUDED.time,
    result = EXCLUDED.result,
    reverse_id = EXCLUDED.reverse_id,
    status = EXCLUDED.status,
    terminal_comment = EXCLUDED.terminal_comment,
    card_number = EXCLUDED.card_number,
    bonus = EXCLUDED.bonus,
    left_sum = EXCLUDED.left_sum,
    left_bonus = EXCLUDED.left_bonus,
    last_updated_at = now()
-- Rows of another owner are never taken over; unchanged rows are not rewritten.
WHERE t.owner_id = EXCLUDED.owner_id
  AND (t.vendista_terminal_id, t.terminal_id, t.machine_item_id, t.amount, t.time, t.result,
       t.reverse_id, t.status, t.terminal_comment, t.card_number, t.bonus, t.left_sum,
       t.left_bonus)
      IS DISTINCT FROM
      (EXCLUDED.vendista_terminal_id, COALESCE(EXCLUDED.terminal_id, t.terminal_id),
       EXCLUDED.machine_item_id, EXCLUDED.amount, EXCLUDED.time, EXCLUDED.result,
       EXCLUDED.reverse_id, EXCLUDED.status, EXCLUDED.terminal_comment, EXCLUDED.card_number,
       EXCLUDED.bonus, EXCLUDED.left_sum, EXCLUDED.left_bonus)
RETURNING t.id, (t.xmax = 0) AS inserted, t.deduction_state
"""


def process_page(ctx: ImportContext, items: list[dict[str, Any]]) -> PageResult:
    """Store one page and apply its stock effects. Must run inside `transaction.atomic()`."""
    assert transaction.get_connection().in_atomic_block, "process_page needs a transaction"
    result = PageResult(fetched=len(items))
    rows, result.invalid = parse_rows(items, ctx.seen)
    if not rows:
        return result
    result.unknown_term_ids = {
        row.term_id for row in rows if row.term_id is not None and row.term_id not in ctx.terminals
    }
    reversal_refs = {row.reverse_id for row in rows if row.reverse_id}
    reversed_ids = _reversed_sales(ctx.owner_id, rows, reversal_refs)
    states = [intended_state(row, ctx, reversed_ids) for row in rows]
    with connection.cursor() as cursor:
        cursor.execute(
            UPSERT_SQL,
            [
                ctx.owner_id,
                [r.id for r in rows],
                [r.term_id for r in rows],
                [ctx.terminals.get(r.term_id) if r.term_id is not None else None for r in rows],
                [r.machine_item_id for r in rows],
                [r.amount for r in rows],
                [r.time for r in rows],
                [r.result for r in rows],
                [r.reverse_id for r in rows],
                [r.status for r in rows],
                [r.terminal_comment for r in rows],
                [r.card_number for r in rows],
                [r.bonus for r in rows],
                [r.left_sum for r in rows],
                [r.left_bonus for r in rows],
                states,
            ],
        )
        returned = cursor.fetchall()
    inserted = {int(tx_id) for tx_id, was_inserted, _state in returned if was_inserted}
    result.inserted = len(inserted)
    result.updated = len(rows) - result.inserted
    sales: list[tuple[int, int]] = []
    for row, state in zip(rows, states, strict=True):
        if row.id not in inserted:
            continue
        if state == D.DEDUCTED:
            assert row.term_id is not None and row.machine_item_id is not None
            sales.append((ctx.terminals[row.term_id], row.machine_item_id))
        elif state == D.NEEDS_RECIPE:
            result.needs_recipe += 1
        elif state == D.UNKNOWN_TERMINAL:
            result.unknown_terminal += 1
    touched = apply_sales(ctx, sales)
    result.deducted = len(sales)
    # Refunds: a deducted sale now carrying a reverse id (shape a), or a refund row naming a
    # deducted sale (shape b). `restored_at` makes each restore happen once.
    restore_ids = {row.id for row in rows if row.reverse_id} | reversal_refs
    restored = restore_refunded(ctx, restore_ids)
    result.restored = len(restored)
    touched |= restored
    if ctx.mode == ImportMode.REGULAR and touched:
        outcome = evaluate_restock(ctx.owner_id, touched, recipe_items=ctx.recipe_items)
        result.tasks_created = len(outcome.created)
    return result


def apply_sales(ctx: ImportContext, sales: list[tuple[int, int]]) -> set[int]:
    """Deduct the sales' ingredients and count them on their terminals; returns the terminals."""
    if not sales:
        return set()
    deduct_sales(ctx.owner_id, ctx.recipes, sales)
    per_terminal: dict[int, int] = {}
    for terminal_id, _item in sales:
        per_terminal[terminal_id] = per_terminal.get(terminal_id, 0) + 1
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE vendista_terminal AS term
            SET sales_since_cleaning = term.sales_since_cleaning + c.n,
                sales_since_last_service = term.sales_since_last_service + c.n
            FROM unnest(%s::bigint[], %s::int[]) AS c(id, n)
            WHERE term.id = c.id
            """,
            [list(per_terminal), list(per_terminal.values())],
        )
    return set(per_terminal)


def restore_refunded(ctx: ImportContext, candidate_ids: set[int]) -> set[int]:
    """Return the ingredients of deducted sales among `candidate_ids` that are now reversed."""
    if not candidate_ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE vendista_transaction AS s
            SET restored_at = now()
            WHERE s.owner_id = %s AND s.id = ANY(%s::bigint[])
              AND s.deduction_state = 'deducted' AND s.restored_at IS NULL
              AND (s.reverse_id <> 0 OR EXISTS (
                    SELECT 1 FROM vendista_transaction r
                    WHERE r.owner_id = s.owner_id AND r.reverse_id = s.id AND r.id <> s.id))
            RETURNING s.terminal_id, s.machine_item_id
            """,
            [ctx.owner_id, list(candidate_ids)],
        )
        refunded = [(int(t), int(m)) for t, m in cursor.fetchall() if t is not None]
    if not refunded:
        return set()
    restore_sales(ctx.owner_id, ctx.recipes, refunded)
    return {terminal_id for terminal_id, _item in refunded}


def _reversed_sales(owner_id: int, rows: list[Row], page_refs: set[int]) -> set[int]:
    """Sales of this page that a refund row (on this page or stored earlier) already names."""
    sale_ids = [row.id for row in rows if row.is_sale]
    if not sale_ids:
        return set()
    reversed_ids = {tx_id for tx_id in sale_ids if tx_id in page_refs}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT reverse_id FROM vendista_transaction
            WHERE owner_id = %s AND reverse_id = ANY(%s::bigint[])
            """,
            [owner_id, sale_ids],
        )
        reversed_ids.update(int(ref) for (ref,) in cursor.fetchall())
    return reversed_ids


def resolve_unknown_terminal_sales(ctx: ImportContext) -> PageResult:
    """Sales kept as `unknown_terminal` whose terminal is now known get their final state and,
    when they have a recipe, are deducted — exactly once (the state is claimed by one UPDATE).
    Must run inside a transaction."""
    result = PageResult()
    if not ctx.terminals:
        return result
    with connection.cursor() as cursor:
        # Rows stored before their terminal was known point at it from now on.
        cursor.execute(
            """
            UPDATE vendista_transaction AS t SET terminal_id = term.id
            FROM vendista_terminal AS term
            WHERE t.owner_id = %s AND t.terminal_id IS NULL
              AND t.deduction_state <> 'unknown_terminal'
              AND term.owner_id = t.owner_id AND term.vendista_id = t.vendista_terminal_id
            """,
            [ctx.owner_id],
        )
        cursor.execute(
            """
            SELECT id, vendista_terminal_id, machine_item_id FROM vendista_transaction
            WHERE owner_id = %s AND deduction_state = 'unknown_terminal'
              AND vendista_terminal_id = ANY(%s::bigint[])
            ORDER BY id
            FOR UPDATE
            """,
            [ctx.owner_id, list(ctx.terminals)],
        )
        pending = cursor.fetchall()
        if not pending:
            return result
        ids, terminals, states = [], [], []
        sales: list[tuple[int, int]] = []
        for tx_id, term_id, machine_item_id in pending:
            terminal_id = ctx.terminals[int(term_id)]
            if machine_item_id is None:
                state = D.NO_ITEM
            elif (terminal_id, machine_item_id) not in ctx.recipes:
                state = D.NEEDS_RECIPE
                result.needs_recipe += 1
            else:
                state = D.DEDUCTED
                sales.append((terminal_id, int(machine_item_id)))
            ids.append(tx_id)
            terminals.append(terminal_id)
            states.append(state)
        cursor.execute(
            """
            UPDATE vendista_transaction AS t
            SET terminal_id = u.terminal, deduction_state = u.state,
                deducted_at = CASE WHEN u.state = 'deducted' THEN now() END
            FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS u(id, terminal, state)
            WHERE t.id = u.id AND t.deduction_state = 'unknown_terminal'
            """,
            [ids, terminals, states],
        )
    touched = apply_sales(ctx, sales)
    result.deducted = len(sales)
    if touched:
        result.tasks_created = len(
            evaluate_restock(ctx.owner_id, touched, recipe_items=ctx.recipe_items).created
        )
    return result
