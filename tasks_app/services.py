"""Restock tasks: automatic evaluation after deductions, and the nightly hiding of finished ones."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from inventory.services import load_recipes, recipe_ingredients_by_terminal
from notifications import events
from tasks_app.models import Task, TaskStatus, TaskType
from vendista.models import Terminal

logger = logging.getLogger(__name__)


@dataclass
class RestockOutcome:
    created: list[int] = field(default_factory=list)
    extended: dict[int, list[str]] = field(default_factory=dict)


def evaluate_restock(
    owner_id: int,
    terminal_ids: Iterable[int],
    *,
    recipe_items: dict[int, set[str]] | None = None,
) -> RestockOutcome:
    """Open or extend one restock task per terminal whose machine needs refilling.

    An ingredient is critical when its machine row is at or below its critical level, or when an
    ingredient of the terminal's recipes has no machine row at all ("not configured"). At most one
    open restock task exists per terminal (a partial unique index); items that become critical
    while it is open are added to it. Notifications go out after commit. Runs inside the caller's
    transaction; safe to re-run (a second run finds nothing new).
    """
    terminal_ids = sorted(set(terminal_ids))
    outcome = RestockOutcome()
    if not terminal_ids:
        return outcome
    if recipe_items is None:
        recipe_items = recipe_ingredients_by_terminal(load_recipes(owner_id))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT terminal_id, item_name, current_stock, critical_stock
            FROM inventory_inventory
            WHERE owner_id = %s AND location = 'machine' AND terminal_id = ANY(%s::bigint[])
            """,
            [owner_id, terminal_ids],
        )
        rows = cursor.fetchall()
    known: dict[int, set[str]] = {terminal_id: set() for terminal_id in terminal_ids}
    critical: dict[int, set[str]] = {terminal_id: set() for terminal_id in terminal_ids}
    for terminal_id, name, current, critical_level in rows:
        known[terminal_id].add(name)
        if critical_level is not None and current <= critical_level:
            critical[terminal_id].add(name)
    assignees: dict[int, int | None] | None = None
    for terminal_id in terminal_ids:
        missing = recipe_items.get(terminal_id, set()) - known[terminal_id]
        needed = critical[terminal_id] | missing
        if not needed:
            continue
        if assignees is None:
            assignees = dict(
                Terminal.objects.filter(id__in=terminal_ids).values_list(
                    "id", "assignment__restock_assignee_id"
                )
            )
        details = {"critical_items": sorted(needed), "missing_items": sorted(missing)}
        task_id = _insert_open_task(owner_id, terminal_id, assignees.get(terminal_id), details)
        if task_id is not None:
            outcome.created.append(task_id)
            transaction.on_commit(partial(events.restock_task_created, task_id=task_id))
            continue
        added = _extend_open_task(terminal_id, needed, missing)
        if added:
            task = added[0]
            outcome.extended[task] = added[1]
            transaction.on_commit(
                partial(events.restock_task_items_added, task_id=task, added_items=added[1])
            )
    return outcome


def _insert_open_task(
    owner_id: int, terminal_id: int, assignee_id: int | None, details: dict[str, list[str]]
) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tasks_app_task
                (owner_id, terminal_id, task_type, status, assignee_id, is_auto, details,
                 comment, created_at)
            VALUES (%s, %s, 'restock', 'pending', %s, true, %s::jsonb, '', now())
            ON CONFLICT (terminal_id) WHERE status = 'pending' AND task_type = 'restock'
            DO NOTHING
            RETURNING id
            """,
            [owner_id, terminal_id, assignee_id, _json(details)],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _extend_open_task(
    terminal_id: int, needed: set[str], missing: set[str]
) -> tuple[int, list[str]] | None:
    task = (
        Task.objects.select_for_update()
        .filter(terminal_id=terminal_id, status=TaskStatus.PENDING, task_type=TaskType.RESTOCK)
        .first()
    )
    if task is None:
        return None
    have = set(task.details.get("critical_items", []))
    added = sorted(needed - have)
    if not added:
        return None
    task.details = {
        **task.details,
        "critical_items": sorted(have | needed),
        "missing_items": sorted(set(task.details.get("missing_items", [])) | missing),
    }
    task.save(update_fields=["details"])
    return task.pk, added


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def moscow_day_start(moment: datetime | None = None) -> datetime:
    """Midnight of the current business day (TIME_ZONE, Europe/Moscow) as an aware datetime."""
    local = timezone.localtime(moment or timezone.now())
    return timezone.make_aware(datetime.combine(local.date(), time.min))


def hide_finished_tasks(now: datetime | None = None) -> int:
    """Hide tasks completed or cancelled before today (Moscow) from the working list; they are
    kept for analytics. Safe to re-run. Returns how many were hidden now."""
    today = moscow_day_start(now)
    hidden = (
        Task.objects.filter(hidden_at__isnull=True, status=TaskStatus.COMPLETED)
        .filter(completed_at__lt=today)
        .update(hidden_at=timezone.now())
    )
    hidden += (
        Task.objects.filter(hidden_at__isnull=True, status=TaskStatus.CANCELLED)
        .filter(cancelled_at__lt=today)
        .update(hidden_at=timezone.now())
    )
    if hidden:
        logger.info("task cleanup: %s finished tasks hidden", hidden)
    return hidden
