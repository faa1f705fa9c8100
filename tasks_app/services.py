"""Restock tasks: automatic evaluation after deductions, staff operations (manual tasks,
completion, cancelling, assignees) and the nightly hiding of finished ones."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.files import File
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.clock import moscow_today, start_of_moscow_day
from inventory.models import ChangeSource, Inventory, InventoryChange, Location
from inventory.services import (
    Place,
    TransferResult,
    load_recipes,
    recipe_ingredients_by_terminal,
    transfer_stock,
)
from planning.models import Forecast, PickList
from planning.services import settings_of
from tasks_app import notices
from tasks_app.models import Task, TaskStatus, TaskType, TerminalAssignment
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
    forecast_items: dict[int, set[str]] | None = None,
) -> RestockOutcome:
    """Open or extend one restock task per terminal whose machine needs refilling.

    An ingredient is critical when its machine row is at or below its critical level, or when an
    ingredient of the terminal's recipes has no machine row at all ("not configured"). At most one
    open restock task exists per terminal (a partial unique index); items that become critical
    while it is open are added to it. Notification rows are written in the same transaction.
    `forecast_items` (per terminal) are ingredients forecast to reach their critical level
    before the next visit: they count as critical (an early task).
    Runs inside the caller's transaction; safe to re-run (a second run finds nothing new).
    """
    terminal_ids = sorted(set(terminal_ids))
    forecast_items = forecast_items or {}
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
        early = forecast_items.get(terminal_id, set()) - critical[terminal_id]
        needed = critical[terminal_id] | missing | early
        if not needed:
            continue
        if assignees is None:
            assignees = dict(
                Terminal.objects.filter(id__in=terminal_ids).values_list(
                    "id", "assignment__restock_assignee_id"
                )
            )
        details = {"critical_items": sorted(needed), "missing_items": sorted(missing)}
        if early:
            details["forecast_items"] = sorted(early)
        task_id = _insert_open_task(owner_id, terminal_id, assignees.get(terminal_id), details)
        if task_id is not None:
            outcome.created.append(task_id)
            notices.restock_task_created(task_id=task_id)
            continue
        added = _extend_open_task(terminal_id, needed, missing)
        if added:
            task = added[0]
            outcome.extended[task] = added[1]
            notices.restock_task_items_added(task_id=task, added_items=added[1])
    return outcome


def open_early_restock_tasks(owner_id: int, *, today: date | None = None) -> RestockOutcome:
    """Open (or extend) restock tasks for containers forecast to reach their critical level
    within the owner's early-task horizon (nothing when it is 0). Uses the stored forecasts
    (`planning.services.refresh_forecasts`); one open restock task per terminal stays the rule.
    Safe to re-run."""
    horizon = settings_of(owner_id).early_task_horizon_days
    if horizon <= 0:
        return RestockOutcome()
    due = (today or moscow_today()) + timedelta(days=horizon)
    items: dict[int, set[str]] = {}
    for terminal_id, name in Forecast.objects.filter(
        owner_id=owner_id, critical_on__lte=due, terminal__is_active=True
    ).values_list("terminal_id", "item_name"):
        items.setdefault(terminal_id, set()).add(name)
    if not items:
        return RestockOutcome()
    with transaction.atomic():
        return evaluate_restock(owner_id, items, forecast_items=items)


def attach_pick_list(pick_list_id: int) -> list[int]:
    """Let the open restock tasks of the pick list's terminals carry it (their completion is
    prefilled from it). Safe to re-run. Returns the task ids."""
    pick_list = PickList.objects.get(pk=pick_list_id)
    terminals = set(pick_list.lines.values_list("terminal_id", flat=True))
    tasks = Task.objects.filter(
        owner_id=pick_list.owner_id,
        terminal_id__in=terminals,
        status=TaskStatus.PENDING,
        task_type=TaskType.RESTOCK,
    )
    ids = list(tasks.values_list("id", flat=True))
    tasks.update(pick_list=pick_list)
    return ids


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


def hide_finished_tasks(now: datetime | None = None) -> int:
    """Hide tasks completed or cancelled before today (Moscow) from the working list; they are
    kept for analytics. Safe to re-run. Returns how many were hidden now."""
    today = start_of_moscow_day(now)
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


# --- Staff operations ------------------------------------------------------------------------


class TaskError(Exception):
    """A task operation that cannot be done; `field` names the input at fault, `conflict` marks
    a state clash (→ 409) rather than bad input (→ 400)."""

    def __init__(self, field: str, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.conflict = conflict


def working_list(queryset: QuerySet[Task], now: datetime | None = None) -> QuerySet[Task]:
    """Open tasks, and those finished today (Europe/Moscow): the staff's working list."""
    today = start_of_moscow_day(now)
    return queryset.filter(
        Q(status=TaskStatus.PENDING) | Q(completed_at__gte=today) | Q(cancelled_at__gte=today)
    )


def create_manual_task(
    owner_id: int,
    terminal_id: int,
    *,
    task_type: str,
    assignee_id: int | None,
    comment: str,
    created_by_id: int | None,
) -> Task:
    """Create a task by hand and notify (rows in the same transaction). A terminal has at most
    one open restock task: asking for a second one is a conflict naming the open one."""
    with transaction.atomic():
        open_task = (
            Task.objects.filter(
                terminal_id=terminal_id, status=TaskStatus.PENDING, task_type=task_type
            )
            .values_list("id", flat=True)
            .first()
        )
        if task_type == TaskType.RESTOCK and open_task is not None:
            raise TaskError(
                "terminal",
                _("This terminal already has an open restock task (#%(id)s).") % {"id": open_task},
                conflict=True,
            )
        task = Task.objects.create(
            owner_id=owner_id,
            terminal_id=terminal_id,
            task_type=task_type,
            assignee_id=assignee_id,
            is_auto=False,
            details={"is_manual": True},
            comment=comment,
            created_by_id=created_by_id,
        )
        notices.restock_task_created(task_id=task.pk)
    return task


def complete_task(
    task_id: int,
    updated_stock: dict[str, Decimal],
    *,
    user_id: int | None,
    photo: File[Any] | None = None,
) -> Task:
    """Complete a task. A restock task needs the new machine stock per ingredient (absolute,
    machine rows only); a manual one must raise at least one ingredient, an automatic one must
    lift every submitted ingredient that was critical above its critical level. Logs
    `restock_task` rows, resets the terminal's sales counter, keeps the optional photo (under
    MEDIA_ROOT) and notifies in the same transaction. A second call finds the task finished
    (409)."""
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task_id)
        if task.status != TaskStatus.PENDING:
            raise TaskError("status", _("The task is already finished."), conflict=True)
        if task.task_type == TaskType.RESTOCK:
            _apply_restock(task, updated_stock, user_id)
        extra: list[str] = []
        if photo is not None:
            extension = (photo.name or "").rsplit(".", 1)[-1].lower()
            safe = extension if extension in {"jpg", "jpeg", "png", "webp", "heic"} else "jpg"
            task.completion_photo.save(f"task-{task.pk}.{safe}", photo, save=False)
            extra.append("completion_photo")
        _mark_completed(task, user_id, extra_fields=extra)
    return task


def _mark_completed(task: Task, user_id: int | None, *, extra_fields: Iterable[str] = ()) -> None:
    """Close a locked open task: the terminal's sales counter restarts; notify in it."""
    Terminal.objects.filter(pk=task.terminal_id).update(sales_since_cleaning=0)
    task.status = TaskStatus.COMPLETED
    task.completed_at = timezone.now()
    task.completed_by_id = user_id
    task.save(update_fields=["status", "completed_at", "completed_by", *extra_fields])
    notices.task_completed(task_id=task.pk, completed_by_user_id=user_id)


def _apply_restock(task: Task, updated_stock: dict[str, Decimal], user_id: int | None) -> None:
    if not updated_stock:
        raise TaskError("updated_stock", _("Enter the machine stock after the restock."))
    machine = {"owner_id": task.owner_id, "terminal_id": task.terminal_id, "location": "machine"}
    Inventory.objects.bulk_create(
        [Inventory(**machine, item_name=name) for name in updated_stock], ignore_conflicts=True
    )
    rows = {
        row.item_name: row
        for row in Inventory.objects.select_for_update()
        .filter(**machine, item_name__in=list(updated_stock))
        .order_by("id")
    }
    errors: list[str] = []
    raised = False
    changes = []
    for name, new_stock in sorted(updated_stock.items()):
        row = rows[name]
        before = row.current_stock
        if row.max_stock is not None and row.max_stock > 0 and new_stock > row.max_stock:
            errors.append(
                _("%(item)s: more than the container holds (%(max)s).")
                % {"item": name, "max": f"{row.max_stock.normalize():f}"}
            )
            continue
        critical = row.critical_stock
        if task.is_auto and critical is not None and max(before, new_stock) <= critical:
            errors.append(
                _("%(item)s: still at or below the critical level (%(critical)s).")
                % {"item": name, "critical": f"{critical.normalize():f}"}
            )
        raised = raised or new_stock > before
        row.current_stock = new_stock
        if new_stock != before:
            changes.append(
                InventoryChange(
                    owner_id=task.owner_id,
                    terminal_id=task.terminal_id,
                    location=Location.MACHINE,
                    item_name=name,
                    source=ChangeSource.RESTOCK_TASK,
                    quantity_before=before,
                    quantity_after=new_stock,
                    changed_by_id=user_id,
                )
            )
    if not task.is_auto and not raised and not errors:
        errors.append(_("Nothing was replenished: raise at least one ingredient."))
    if errors:
        raise TaskError("updated_stock", " ".join(errors))
    for row in rows.values():
        row.save(update_fields=["current_stock", "updated_at"])
    InventoryChange.objects.bulk_create(changes)


def cancel_task(task_id: int, *, user_id: int | None) -> Task:
    """Cancel an open task (kept for analytics) and tell its assignee (in the same transaction)."""
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task_id)
        if task.status != TaskStatus.PENDING:
            raise TaskError("status", _("The task is already finished."), conflict=True)
        task.status = TaskStatus.CANCELLED
        task.cancelled_at = timezone.now()
        task.save(update_fields=["status", "cancelled_at"])
        notices.task_cancelled(task_id=task.pk, cancelled_by_user_id=user_id)
    return task


def move_stock(
    owner_id: int,
    source: Place,
    destination: Place,
    item_name: str,
    quantity: Decimal,
    *,
    user_id: int | None,
) -> TransferResult:
    """Move stock between two places (`inventory.services.transfer_stock`); a move into a
    machine then completes the terminal's open restock task when it no longer needs anything.
    One transaction. Not idempotent by itself: each call is one move."""
    with transaction.atomic():
        result = transfer_stock(owner_id, source, destination, item_name, quantity, user_id=user_id)
        if destination.location == Location.MACHINE and destination.terminal_id is not None:
            closed = close_tasks_after_refill(owner_id, destination.terminal_id, user_id=user_id)
            result = replace(result, closed_task_ids=closed)
    return result


def close_tasks_after_refill(owner_id: int, terminal_id: int, *, user_id: int | None) -> list[int]:
    """After stock was moved into a terminal's machine, complete its open restock task when
    nothing it names is critical any more (a manual task: at once). Runs inside the caller's
    transaction; returns the ids completed."""
    task = (
        Task.objects.select_for_update()
        .filter(
            owner_id=owner_id,
            terminal_id=terminal_id,
            status=TaskStatus.PENDING,
            task_type=TaskType.RESTOCK,
        )
        .first()
    )
    if task is None:
        return []
    if task.is_auto:
        names = set(task.critical_items)
        rows = Inventory.objects.filter(
            owner_id=owner_id, terminal_id=terminal_id, location=Location.MACHINE
        ).filter(item_name__in=names)
        fine = {row.item_name for row in rows if not row.is_critical()}
        if names - fine:
            return []
    _mark_completed(task, user_id)
    return [task.pk]


def set_restock_assignee(terminal_id: int, assignee_id: int | None) -> TerminalAssignment:
    """Who receives the terminal's automatic restock tasks from now on. Safe to re-run."""
    assignment, _created = TerminalAssignment.objects.update_or_create(
        terminal_id=terminal_id, defaults={"restock_assignee_id": assignee_id}
    )
    return assignment


def set_route_position(terminal_id: int, position: int | None) -> TerminalAssignment:
    """The terminal's place in the service round from now on. Safe to re-run."""
    assignment, _created = TerminalAssignment.objects.update_or_create(
        terminal_id=terminal_id, defaults={"route_position": position}
    )
    return assignment
