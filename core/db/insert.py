"""Several new rows in one statement: one round trip instead of BEGIN, an INSERT each, COMMIT.

`insert_together(a, b)` sends `WITH r0 AS (INSERT a) INSERT b`. PostgreSQL runs every
data-modifying part of a WITH to completion, and a single statement is its own transaction
(or part of the caller's), so the rows are written together or not at all. The INSERTs are
Django's own (its compiler prepares each field: defaults, `auto_now`, JSON), so the rows are
what `Model.objects.create` would write.

Model signals are not sent, so a model some receiver listens to is saved through the ORM
instead, inside one transaction — the same rows, more round trips. Automatic primary keys are
not read back: pass objects whose key is set in Python (a UUID default) when the caller needs
it, or whose key nobody reads (an audit row).
"""

from __future__ import annotations

from typing import Any

from django.db import connections, router, transaction
from django.db.models import Model, signals
from django.db.models.sql import InsertQuery


def insert_together(*objs: Model) -> None:
    """INSERT `objs` (new, unsaved instances) in one statement; they are saved afterwards."""
    if not objs:
        return
    using = router.db_for_write(type(objs[0]))
    if any(_listened(type(obj)) for obj in objs):
        with transaction.atomic(using=using):
            for obj in objs:
                obj.save(force_insert=True, using=using)
        return
    parts = [_insert_sql(obj, using) for obj in objs]
    *first, last = parts
    with_clause = ", ".join(f"r{i} AS ({sql})" for i, (sql, _) in enumerate(first))
    sql = f"WITH {with_clause} {last[0]}" if first else last[0]
    params = [param for _, part_params in parts for param in part_params]
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using


def _listened(model: type[Model]) -> bool:
    return any(signal.has_listeners(model) for signal in (signals.pre_save, signals.post_save))


def _insert_sql(obj: Model, using: str) -> tuple[str, tuple[Any, ...]]:
    meta = obj._meta
    if meta.parents:
        raise ValueError(f"{meta.label}: multi-table inheritance needs one INSERT per table")
    fields = [
        field
        for field in meta.local_concrete_fields
        if not (field is meta.auto_field and obj.pk is None) and not field.generated
    ]
    query = InsertQuery(type(obj))
    query.insert_values(fields, [obj])
    (statement,) = query.get_compiler(using=using).as_sql()
    sql, params = statement
    return sql, tuple(params)
