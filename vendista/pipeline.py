"""One page of Vendista transactions → the database, in one transaction.

The page's JSON goes to PostgreSQL as it came from Vendista: the database parses it, works out
each row's deduction state, upserts every row with one statement and reports back what was
inserted. Python then applies the deductions of the newly inserted sales (aggregated per
inventory row, clamped at zero), restores refunds exactly once and runs the restock check of
the touched terminals — all in the same transaction, so a crash between pages loses nothing
and a page is never half applied.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import connection, transaction

from inventory.services import (
    RecipeMap,
    deduct_sales,
    deduction_plan,
    load_recipes,
    recipe_ingredients_by_terminal,
    restore_sales,
)
from tasks_app.services import evaluate_restock
from vendista.client import RawPage
from vendista.models import DeductionState, ImportMode, Terminal

D = DeductionState


@dataclass
class ImportContext:
    """What a run keeps between pages: the owner's terminals and recipes as of its start."""

    owner_id: int
    mode: str
    terminals: dict[int, int]  # Vendista terminal id → our terminal id
    recipes: RecipeMap
    recipe_items: dict[int, set[str]]
    # What one sale of each recipe deducts per stock row ("terminal:item" → deducted_items).
    plan: dict[str, list[dict[str, str | int]]]

    @classmethod
    def load(cls, owner_id: int, mode: str) -> ImportContext:
        """The owner's terminals and recipes as they are now."""
        recipes = load_recipes(owner_id)
        return cls(
            owner_id=owner_id,
            mode=mode,
            terminals=dict(
                Terminal.objects.filter(owner_id=owner_id).values_list("vendista_id", "id")
            ),
            recipes=recipes,
            recipe_items=recipe_ingredients_by_terminal(recipes),
            plan=deduction_plan(owner_id, recipes),
        )


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
    resolved: int = 0  # unknown-terminal sales given their final state
    # Paging as the answer reported it.
    page_number: int = 0
    items_count: int = 0
    items_per_page: int = 0


# Strict shapes, so that a malformed value is skipped (counted as invalid), never a failed page.
_ID = r"^[0-9]{1,18}$"
_NAIVE_TIME = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]{1,6})?)?$"
)
_AWARE_TIME = _NAIVE_TIME[:-1] + r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_MONEY = r"^-?[0-9]{1,12}(\.[0-9]+)?$"

# Vendista sends numbers as JSON numbers: the typed parse reads a page in a few milliseconds. A
# value that does not fit its type aborts it, and the page is read again by the robust parse.
_PARSE_FAST = """
parsed AS MATERIALIZED (
    SELECT
        x.id, x.term_id AS term,
        CASE WHEN json_typeof(x.machine_item) = 'array'
             THEN (x.machine_item -> 0 ->> 'machine_item_id')::int END AS item,
        round(coalesce(x.sum, 0))::bigint AS amount,
        CASE WHEN x.time ~ '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' THEN x.time::timestamptz
             ELSE x.time::timestamp AT TIME ZONE 'Europe/Moscow' END AS time,
        coalesce(x.result::bigint::text, '0') AS result,
        coalesce(x.reverse_id, 0) AS reverse_id,
        coalesce(x.status::bigint::text, '0') AS status,
        left(coalesce(x.terminal_comment, ''), 255) AS comment,
        left(coalesce(x.card_number, ''), 32) AS card,
        coalesce(x.bonus, 0) AS bonus,
        coalesce(x.left_sum, 0) AS left_sum,
        coalesce(x.left_bonus, 0) AS left_bonus
    FROM json_to_recordset(%(items)s::json) AS x(
        id bigint, term_id bigint, sum numeric, time text, result numeric, reverse_id bigint,
        status numeric, terminal_comment text, card_number text, bonus numeric,
        left_sum numeric, left_bonus numeric, machine_item json)
    WHERE x.id IS NOT NULL AND x.time IS NOT NULL
)"""

# Any shape: every value checked; malformed rows are skipped and counted as invalid.
_PARSE_ROBUST = f"""
items AS (
    SELECT CASE WHEN jsonb_typeof(%(items)s::jsonb) = 'array' THEN %(items)s::jsonb
                ELSE '[]'::jsonb END AS a
), raw AS (
    SELECT x.*
    FROM items, jsonb_array_elements(items.a) AS e,
    LATERAL jsonb_to_record(CASE WHEN jsonb_typeof(e) = 'object' THEN e ELSE '{{}}' END) AS x(
        id text, term_id text, sum text, time text, result text, reverse_id text, status text,
        terminal_comment text, card_number text, bonus text, left_sum text, left_bonus text,
        machine_item jsonb)
), parsed AS (
    SELECT DISTINCT ON (p.id) p.* FROM (
        SELECT
            CASE WHEN r.id ~ '{_ID}' THEN r.id::bigint END AS id,
            CASE WHEN r.term_id ~ '{_ID}' THEN r.term_id::bigint END AS term,
            CASE WHEN jsonb_typeof(r.machine_item) = 'array'
                      AND (r.machine_item -> 0 ->> 'machine_item_id') ~ '^[0-9]{{1,9}}$'
                 THEN (r.machine_item -> 0 ->> 'machine_item_id')::int END AS item,
            CASE WHEN r.sum ~ '{_MONEY}' THEN round(r.sum::numeric)::bigint ELSE 0 END AS amount,
            CASE WHEN r.time ~ '{_NAIVE_TIME}'
                 THEN replace(r.time, ' ', 'T')::timestamp AT TIME ZONE 'Europe/Moscow'
                 WHEN r.time ~ '{_AWARE_TIME}' THEN replace(r.time, ' ', 'T')::timestamptz
            END AS time,
            CASE WHEN r.result ~ '^-?[0-9]{{1,12}}(\\.0+)?$'
                 THEN r.result::numeric::bigint::text
                 ELSE left(coalesce(r.result, '0'), 16) END AS result,
            CASE WHEN r.reverse_id ~ '{_ID}' THEN r.reverse_id::bigint ELSE 0 END AS reverse_id,
            CASE WHEN r.status ~ '^-?[0-9]{{1,12}}(\\.0+)?$'
                 THEN r.status::numeric::bigint::text
                 ELSE left(coalesce(r.status, '0'), 32) END AS status,
            left(coalesce(r.terminal_comment, ''), 255) AS comment,
            left(coalesce(r.card_number, ''), 32) AS card,
            CASE WHEN r.bonus ~ '{_MONEY}' THEN r.bonus::numeric ELSE 0 END AS bonus,
            CASE WHEN r.left_sum ~ '{_MONEY}' THEN r.left_sum::numeric ELSE 0 END AS left_sum,
            CASE WHEN r.left_bonus ~ '{_MONEY}' THEN r.left_bonus::numeric ELSE 0 END
                AS left_bonus
        FROM raw r
    ) p
    WHERE p.id IS NOT NULL AND p.time IS NOT NULL
    ORDER BY p.id
)"""  # noqa: S608 - this module's constants only

PAGE_SQL = """
WITH {parse}, known AS MATERIALIZED (
    SELECT p.*, tm.terminal
    FROM parsed p
    LEFT JOIN unnest(%(vendista_ids)s::bigint[], %(terminal_ids)s::bigint[])
        AS tm(vendista_id, terminal) ON tm.vendista_id = p.term
), changed AS MATERIALIZED (
    -- Only new or changed rows go on: an unchanged row is neither rewritten nor locked (a
    -- re-import reads, it does not write). One row per id (a page may repeat one).
    SELECT DISTINCT ON (k.id) k.*
    FROM known k
    LEFT JOIN vendista_transaction t ON t.id = k.id
    WHERE t.id IS NULL
       OR (t.owner_id = %(owner)s
           AND (t.vendista_terminal_id, t.terminal_id, t.machine_item_id, t.amount, t.time,
                t.result, t.reverse_id, t.status, t.terminal_comment, t.card_number, t.bonus,
                t.left_sum, t.left_bonus)
               IS DISTINCT FROM
               (k.term, COALESCE(k.terminal, t.terminal_id), k.item, k.amount, k.time,
                k.result, k.reverse_id, k.status, k.comment, k.card, k.bonus, k.left_sum,
                k.left_bonus))
    ORDER BY k.id
), page_refunds AS (
    SELECT DISTINCT reverse_id AS sale_id FROM parsed WHERE reverse_id <> 0
), src AS (
    SELECT c.*,
        (c.result = '1' AND c.reverse_id = 0) AS is_sale,
        -- a refund row names it: on this page, or stored before
        (pr.sale_id IS NOT NULL
         OR EXISTS (SELECT 1 FROM vendista_transaction s
                    WHERE s.owner_id = %(owner)s AND s.reverse_id <> 0
                      AND s.reverse_id = c.id)) AS refunded,
        rc.terminal IS NOT NULL AS has_recipe
    FROM changed c
    LEFT JOIN page_refunds pr ON pr.sale_id = c.id
    LEFT JOIN unnest(%(recipe_terminals)s::bigint[], %(recipe_items)s::int[])
        AS rc(terminal, item) ON rc.terminal = c.terminal AND rc.item = c.item
), ins AS (
    INSERT INTO vendista_transaction AS t
        (id, owner_id, vendista_terminal_id, terminal_id, machine_item_id, amount, time,
         result, reverse_id, status, terminal_comment, card_number, bonus, left_sum,
         left_bonus, deduction_state, deducted_at, deducted_items, first_seen_at,
         last_updated_at)
    SELECT s.id, %(owner)s, s.term, s.terminal, s.item, s.amount, s.time, s.result,
           s.reverse_id, s.status, s.comment, s.card, s.bonus, s.left_sum, s.left_bonus,
           st.state, CASE WHEN st.state = 'deducted' THEN now() END,
           CASE WHEN st.state = 'deducted'
                THEN %(plan)s::jsonb -> (s.terminal::text || ':' || s.item::text) END,
           now(), now()
    FROM src s, LATERAL (SELECT CASE
            WHEN NOT s.is_sale OR s.refunded THEN 'not_a_sale'
            WHEN %(historical)s THEN 'historical'
            WHEN s.terminal IS NULL THEN 'unknown_terminal'
            WHEN s.item IS NULL THEN 'no_item'
            WHEN NOT s.has_recipe THEN 'needs_recipe'
            ELSE 'deducted' END AS state) st
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
      AND (t.vendista_terminal_id, t.terminal_id, t.machine_item_id, t.amount, t.time,
           t.result, t.reverse_id, t.status, t.terminal_comment, t.card_number, t.bonus,
           t.left_sum, t.left_bonus)
          IS DISTINCT FROM
          (EXCLUDED.vendista_terminal_id, COALESCE(EXCLUDED.terminal_id, t.terminal_id),
           EXCLUDED.machine_item_id, EXCLUDED.amount, EXCLUDED.time, EXCLUDED.result,
           EXCLUDED.reverse_id, EXCLUDED.status, EXCLUDED.terminal_comment,
           EXCLUDED.card_number, EXCLUDED.bonus, EXCLUDED.left_sum, EXCLUDED.left_bonus)
    RETURNING t.terminal_id, t.machine_item_id, t.deduction_state, (t.xmax = 0) AS inserted
)
SELECT
    (SELECT count(*) FROM parsed),
    (SELECT count(*) FROM ins WHERE inserted),
    (SELECT count(*) FROM ins WHERE inserted AND deduction_state = 'needs_recipe'),
    (SELECT count(*) FROM ins WHERE inserted AND deduction_state = 'unknown_terminal'),
    (SELECT json_agg(json_build_array(terminal_id, machine_item_id, n)) FROM (
        SELECT terminal_id, machine_item_id, count(*) AS n FROM ins
        WHERE inserted AND deduction_state = 'deducted'
        GROUP BY terminal_id, machine_item_id) sold),
    (SELECT array_agg(DISTINCT x) FROM (
        SELECT id FROM parsed WHERE reverse_id <> 0
        UNION ALL SELECT reverse_id FROM parsed WHERE reverse_id <> 0) refs(x))
"""
PAGE_SQL_FAST = PAGE_SQL.replace("{parse}", _PARSE_FAST)
PAGE_SQL_ROBUST = PAGE_SQL.replace("{parse}", _PARSE_ROBUST)


class MalformedPage(Exception):
    """The answer is not the JSON document Vendista sends."""


def raw_cursor() -> psycopg.Cursor[Any]:
    """A server-binding cursor on Django's connection (same transaction): the page travels as
    one parameter instead of being quoted into the statement."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def process_page(ctx: ImportContext, page: RawPage, *, robust: bool = False) -> PageResult:
    """Store one page and apply its stock effects. Must run inside
    `transaction.atomic()`; safe to repeat (stored rows are only updated, never re-deducted).

    The typed parse raises psycopg's DataError on a value of an unexpected type; the caller
    then repeats the page with `robust=True`, which skips malformed rows instead."""
    assert transaction.get_connection().in_atomic_block, "process_page needs a transaction"
    recipe_keys = list(ctx.recipes)
    params = {
        "items": page.items_text,
        "owner": ctx.owner_id,
        "historical": ctx.mode == ImportMode.HISTORICAL,
        "vendista_ids": list(ctx.terminals),
        "terminal_ids": list(ctx.terminals.values()),
        "recipe_terminals": [terminal for terminal, _item in recipe_keys],
        "recipe_items": [item for _terminal, item in recipe_keys],
        "plan": json.dumps(ctx.plan),
    }
    if not robust:
        with raw_cursor() as cursor:
            cursor.execute(PAGE_SQL_FAST, params)
            row = cursor.fetchone()
    else:
        try:
            with transaction.atomic(), raw_cursor() as cursor:
                cursor.execute(PAGE_SQL_ROBUST, params)
                row = cursor.fetchone()
        except psycopg.errors.DataError as exc:
            raise MalformedPage(f"unreadable page: {exc.diag.message_primary}") from exc
    assert row is not None
    valid, inserted, needs_recipe, unknown_terminal, sold, refs = row
    result = PageResult(
        fetched=page.items,
        invalid=page.items - (valid or 0),
        inserted=inserted,
        updated=(valid or 0) - inserted,
        needs_recipe=needs_recipe,
        unknown_terminal=unknown_terminal,
        page_number=page.page_number,
        items_count=page.items_count,
        items_per_page=page.items_per_page,
    )
    sales = Counter({(int(t), int(m)): int(n) for t, m, n in sold or []})
    result.deducted = sum(sales.values())
    touched = apply_sales(ctx, sales)
    # Refunds: a deducted sale now carrying a reverse id (shape a), or a refund row naming a
    # deducted sale (shape b). `restored_at` makes each restore happen once.
    restored = restore_refunded(ctx, set(refs or []))
    result.restored = len(restored)
    touched |= {terminal for terminal, _item in restored}
    if ctx.mode == ImportMode.REGULAR and touched:
        outcome = evaluate_restock(ctx.owner_id, touched, recipe_items=ctx.recipe_items)
        result.tasks_created = len(outcome.created)
    return result


def apply_sales(ctx: ImportContext, sales: Counter[tuple[int, int]]) -> set[int]:
    """Deduct the sales' ingredients (aggregated per inventory row) and count them on their
    terminals; returns the terminals."""
    if not sales:
        return set()
    deduct_sales(ctx.owner_id, ctx.recipes, sales)
    per_terminal: Counter[int] = Counter()
    for (terminal_id, _item), count in sales.items():
        per_terminal[terminal_id] += count
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


def restore_refunded(ctx: ImportContext, candidate_ids: set[int]) -> list[tuple[int, int]]:
    """Return the ingredients of deducted sales among `candidate_ids` that are now reversed;
    each sale at most once. Returns the (terminal, machine item) of the restored sales."""
    if not candidate_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE vendista_transaction AS s
            SET restored_at = now()
            WHERE s.owner_id = %s AND s.id = ANY(%s::bigint[])
              AND s.deduction_state = 'deducted' AND s.restored_at IS NULL
              AND (s.reverse_id <> 0 OR EXISTS (
                    SELECT 1 FROM vendista_transaction r
                    WHERE r.owner_id = s.owner_id AND r.reverse_id <> 0
                      AND r.reverse_id = s.id AND r.id <> s.id))
            RETURNING s.terminal_id, s.machine_item_id, s.deducted_items
            """,
            [ctx.owner_id, list(candidate_ids)],
        )
        rows = [(int(t), int(m), items) for t, m, items in cursor.fetchall() if t is not None]
    # The claim above (restored_at IS NULL, in this transaction) makes each restore happen
    # once; what is put back is what the sale recorded, whatever its recipe says now.
    recorded = [_items(items) for _t, _m, items in rows if items is not None]
    legacy = Counter((t, m) for t, m, items in rows if items is None)
    if rows:
        restore_sales(ctx.owner_id, ctx.recipes, legacy, recorded=recorded)
    return [(t, m) for t, m, _items_ in rows]


def _items(value: Any) -> list[dict[str, Any]]:
    """deducted_items as psycopg hands it back (parsed JSON, or text from a raw cursor)."""
    return list(json.loads(value) if isinstance(value, str) else value)


def resolve_unknown_terminal_sales(ctx: ImportContext) -> PageResult:
    """Sales kept as `unknown_terminal` whose terminal is now known get their final state and,
    when they have a recipe, are deducted — exactly once (the state is claimed by one UPDATE).
    Rows stored before their terminal was known point at it from now on. Must run inside a
    transaction."""
    result = PageResult()
    if not ctx.terminals:
        return result
    with connection.cursor() as cursor:
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
        ids, terminals, states, deducted = [], [], [], []
        sales: Counter[tuple[int, int]] = Counter()
        for tx_id, term_id, machine_item_id in pending:
            terminal_id = ctx.terminals[int(term_id)]
            if machine_item_id is None:
                state = D.NO_ITEM
            elif (terminal_id, machine_item_id) not in ctx.recipes:
                state = D.NEEDS_RECIPE
                result.needs_recipe += 1
            else:
                state = D.DEDUCTED
                sales[(terminal_id, int(machine_item_id))] += 1
            ids.append(tx_id)
            terminals.append(terminal_id)
            states.append(state)
            deducted.append(
                json.dumps(ctx.plan.get(f"{terminal_id}:{machine_item_id}", []))
                if state == D.DEDUCTED
                else None
            )
        result.resolved = len(ids)
        cursor.execute(
            """
            UPDATE vendista_transaction AS t
            SET terminal_id = u.terminal, deduction_state = u.state,
                deducted_at = CASE WHEN u.state = 'deducted' THEN now() END,
                deducted_items = u.items
            FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::jsonb[])
                AS u(id, terminal, state, items)
            WHERE t.id = u.id AND t.deduction_state = 'unknown_terminal'
            """,
            [ids, terminals, states, deducted],
        )
    touched = apply_sales(ctx, sales)
    result.deducted = sum(sales.values())
    if touched:
        result.tasks_created = len(
            evaluate_restock(ctx.owner_id, touched, recipe_items=ctx.recipe_items).created
        )
    return result
