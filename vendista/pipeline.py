"""One page of Vendista transactions → the database, in one transaction: a multi-row upsert,
the deductions for the page's newly inserted sales (aggregated per inventory row, clamped at
zero), refunds restored exactly once, and the restock check of the touched terminals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import psycopg
from django.db import connection, transaction

from inventory.services import RecipeMap, deduct_sales, restore_sales
from tasks_app.services import evaluate_restock
from vendista.client import parse_vendista_time
from vendista.models import DeductionState, ImportMode

D = DeductionState


@dataclass(slots=True)
class Rows:
    """One page's transactions as columns, ready for the multi-row upsert."""

    id: list[int] = field(default_factory=list)
    term_id: list[int | None] = field(default_factory=list)
    machine_item_id: list[int | None] = field(default_factory=list)
    amount: list[int] = field(default_factory=list)
    time: list[datetime] = field(default_factory=list)
    result: list[str] = field(default_factory=list)
    reverse_id: list[int] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    terminal_comment: list[str] = field(default_factory=list)
    card_number: list[str] = field(default_factory=list)
    bonus: list[str] = field(default_factory=list)
    left_sum: list[str] = field(default_factory=list)
    left_bonus: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.id)

    def is_sale(self, i: int) -> bool:
        return self.result[i] == "1" and self.reverse_id[i] == 0


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
    if type(value) is int:
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _code(value: Any) -> str:
    """Vendista sends `result`/`status` as numbers or strings: 1, "1", 1.0 → "1"."""
    if value is None:
        return "0"
    if type(value) is int:
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)[:32]


def _money(value: Any) -> str:
    """A raw number as the text PostgreSQL parses into numeric (0 when absent or malformed)."""
    if value is None or value == "" or value == 0:
        return "0"
    if type(value) is int:
        return str(value)
    try:
        return str(Decimal(str(value)))
    except InvalidOperation:
        return "0"


def parse_rows(items: list[dict[str, Any]], seen: set[int]) -> tuple[Rows, int]:
    """Raw page items → columns, skipping ids already seen in this run; returns (rows, invalid).

    This loop runs once per transaction; it stays plain so that it stays fast.
    """
    rows = Rows()
    invalid = 0
    parse_time = parse_vendista_time
    for raw in items:
        if not isinstance(raw, dict):
            invalid += 1
            continue
        tx_id = _int(raw.get("id"))
        moment = parse_time(raw.get("time")) if tx_id is not None else None
        if tx_id is None or moment is None:
            invalid += 1
            continue
        if tx_id in seen:
            continue
        seen.add(tx_id)
        machine_items = raw.get("machine_item")
        machine_item_id = None
        if machine_items and isinstance(machine_items, list):
            first = machine_items[0]
            if isinstance(first, dict):
                machine_item_id = _int(first.get("machine_item_id"))
        rows.id.append(tx_id)
        rows.term_id.append(_int(raw.get("term_id")))
        rows.machine_item_id.append(machine_item_id)
        rows.amount.append(_int(raw.get("sum")) or 0)
        rows.time.append(moment)
        rows.result.append(_code(raw.get("result")))
        rows.reverse_id.append(_int(raw.get("reverse_id")) or 0)
        rows.status.append(_code(raw.get("status")))
        rows.terminal_comment.append(str(raw.get("terminal_comment") or "")[:255])
        rows.card_number.append(str(raw.get("card_number") or "")[:32])
        rows.bonus.append(_money(raw.get("bonus")))
        rows.left_sum.append(_money(raw.get("left_sum")))
        rows.left_bonus.append(_money(raw.get("left_bonus")))
    return rows, invalid


def intended_states(rows: Rows, ctx: ImportContext, reversed_ids: set[int]) -> list[str]:
    """What happens to each row if it is new."""
    historical = ctx.mode == ImportMode.HISTORICAL
    states: list[str] = []
    for i, tx_id in enumerate(rows.id):
        term_id = rows.term_id[i]
        item = rows.machine_item_id[i]
        if not rows.is_sale(i) or tx_id in reversed_ids:
            states.append(D.NOT_A_SALE)
        elif historical:
            states.append(D.HISTORICAL)
        elif term_id is None or term_id not in ctx.terminals:
            states.append(D.UNKNOWN_TERMINAL)
        elif item is None:
            states.append(D.NO_ITEM)
        elif (ctx.terminals[term_id], item) not in ctx.recipes:
            states.append(D.NEEDS_RECIPE)
        else:
            states.append(D.DEDUCTED)
    return states


UPSERT_SQL = """
INSERT INTO vendista_transaction AS t
    (id, owner_id, vendista_terminal_id, terminal_id, machine_item_id, amount, time, result,
     reverse_id, status, terminal_comment, card_number, bonus, left_sum, left_bonus,
     deduction_state, deducted_at, first_seen_at, last_updated_at)
SELECT u.id, %b, u.term, u.terminal, u.item, u.amount, u.time, u.result, u.reverse_id,
       u.status, u.comment, u.card, u.bonus, u.left_sum, u.left_bonus, u.state,
       CASE WHEN u.state = 'deducted' THEN now() END, now(), now()
FROM unnest(%b::bigint[], %b::bigint[], %b::bigint[], %b::int[], %b::bigint[],
            %b::timestamptz[], %b::text[], %b::bigint[], %b::text[], %b::text[], %b::text[],
            %b::text[]::numeric[], %b::text[]::numeric[], %b::text[]::numeric[], %b::text[])
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


def raw_cursor() -> psycopg.Cursor[Any]:
    """A server-binding cursor on Django's connection (same transaction): arrays travel in
    binary, which is several times faster than Django's client-side quoting for big pages."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def process_page(ctx: ImportContext, items: list[dict[str, Any]]) -> PageResult:
    """Store one page and apply its stock effects. Must run inside `transaction.atomic()`."""
    assert transaction.get_connection().in_atomic_block, "process_page needs a transaction"
    result = PageResult(fetched=len(items))
    rows, result.invalid = parse_rows(items, ctx.seen)
    if not rows:
        return result
    result.unknown_term_ids = {
        term for term in rows.term_id if term is not None and term not in ctx.terminals
    }
    reversal_refs = {ref for ref in rows.reverse_id if ref}
    reversed_ids = _reversed_sales(ctx.owner_id, rows, reversal_refs)
    states = intended_states(rows, ctx, reversed_ids)
    terminals = ctx.terminals
    with raw_cursor() as cursor:
        cursor.execute(
            UPSERT_SQL,
            [
                ctx.owner_id,
                rows.id,
                rows.term_id,
                [terminals.get(term) if term is not None else None for term in rows.term_id],
                rows.machine_item_id,
                rows.amount,
                rows.time,
                rows.result,
                rows.reverse_id,
                rows.status,
                rows.terminal_comment,
                rows.card_number,
                rows.bonus,
                rows.left_sum,
                rows.left_bonus,
                states,
            ],
        )
        returned = cursor.fetchall()
    inserted = {int(tx_id) for tx_id, was_inserted, _state in returned if was_inserted}
    result.inserted = len(inserted)
    result.updated = len(rows) - result.inserted
    sales: list[tuple[int, int]] = []
    if inserted:
        for i, tx_id in enumerate(rows.id):
            if tx_id not in inserted:
                continue
            state = states[i]
            if state == D.DEDUCTED:
                sales.append((terminals[rows.term_id[i]], rows.machine_item_id[i]))  # type: ignore[index,arg-type]
            elif state == D.NEEDS_RECIPE:
                result.needs_recipe += 1
            elif state == D.UNKNOWN_TERMINAL:
                result.unknown_terminal += 1
    touched = apply_sales(ctx, sales)
    result.deducted = len(sales)
    # Refunds: a deducted sale now carrying a reverse id (shape a), or a refund row naming a
    # deducted sale (shape b). `restored_at` makes each restore happen once.
    restore_ids = {tx_id for tx_id, ref in zip(rows.id, rows.reverse_id, strict=True) if ref}
    restored = restore_refunded(ctx, restore_ids | reversal_refs)
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


def _reversed_sales(owner_id: int, rows: Rows, page_refs: set[int]) -> set[int]:
    """Sales of this page that a refund row (on this page or stored earlier) already names."""
    sale_ids = [tx_id for i, tx_id in enumerate(rows.id) if rows.is_sale(i)]
    if not sale_ids:
        return set()
    reversed_ids = {tx_id for tx_id in sale_ids if tx_id in page_refs}
    with raw_cursor() as cursor:
        cursor.execute(
            """
            SELECT reverse_id FROM vendista_transaction
            WHERE owner_id = %b AND reverse_id <> 0 AND reverse_id = ANY(%b::bigint[])
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
