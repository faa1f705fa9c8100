"""What staff hear about tasks: the Telegram notices of restock tasks created, extended,
completed or cancelled. Called inside the transaction of the change (their delivery rows commit
with it), with ids only; a failure to notify is logged, never
raised into the task flow."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from notifications.formatting import short_item_name
from notifications.services import (
    never_raises,
    notify_users,
    owner_and_admin_user_ids,
    person_name,
)
from tasks_app.models import Task

logger = logging.getLogger("tasks_app.notices")


def _app_button(label: str) -> dict[str, Any] | None:
    """The inline web-app button that opens the Mini App (none without its URL)."""
    url = settings.TELEGRAM_WEB_APP_URL
    if not url:
        return None
    return {"inline_keyboard": [[{"text": label, "web_app": {"url": url}}]]}


def _task(task_id: int) -> Task:
    return Task.objects.select_related("terminal").get(pk=task_id)


def _items(task: Task) -> list[str]:
    details = task.details or {}
    critical = [short_item_name(str(item)) for item in details.get("critical_items", [])]
    missing = [
        f"{short_item_name(str(item))} (не настроено)" for item in details.get("missing_items", [])
    ]
    return critical + missing


@never_raises
def restock_task_created(*, task_id: int) -> None:
    """A restock task was created (automatically or by hand): tell the assignee, owner, admins."""
    logger.info("event restock_task_created task=%s", task_id)
    task = _task(task_id)
    terminal = str(task.terminal)
    items = _items(task)
    staff = owner_and_admin_user_ids(
        task.owner_id, exclude=[] if task.is_auto else [task.created_by_id]
    )
    if task.assignee_id is None:
        notify_users(
            staff,
            template="task_unassigned",
            context={"terminal": terminal, "items": items},
            owner_id=task.owner_id,
        )
        return
    if task.is_auto:
        notify_users(
            [task.assignee_id],
            template="task_new_auto",
            context={"terminal": terminal, "items": items},
            owner_id=task.owner_id,
            reply_markup=_app_button("📱 Открыть приложение"),
        )
    else:
        notify_users(
            [task.assignee_id],
            template="task_new_manual",
            context={"terminal": terminal, "comment": task.comment},
            owner_id=task.owner_id,
            reply_markup=_app_button("🗃 Открыть задачи"),
        )
    notify_users(
        staff,
        template="task_summary",
        context={
            "terminal": terminal,
            "assignee": person_name(task.assignee_id, task.owner_id),
            "items": items,
            "comment": task.comment,
        },
        owner_id=task.owner_id,
    )


@never_raises
def restock_task_items_added(*, task_id: int, added_items: list[str]) -> None:
    """More items became critical while the task was open: tell about the additions only."""
    logger.info("event restock_task_items_added task=%s items=%s", task_id, added_items)
    if not added_items:
        return
    task = _task(task_id)
    unassigned = task.assignee_id is None
    recipients = (
        owner_and_admin_user_ids(task.owner_id) if task.assignee_id is None else [task.assignee_id]
    )
    notify_users(
        recipients,
        template="task_items_added",
        context={
            "terminal": str(task.terminal),
            "items": [short_item_name(str(item)) for item in added_items],
            "unassigned": unassigned,
        },
        owner_id=task.owner_id,
        reply_markup=None if unassigned else _app_button("📱 Открыть приложение"),
    )


@never_raises
def task_completed(*, task_id: int, completed_by_user_id: int | None) -> None:
    """A task was completed: tell owner and admins except the person who completed it."""
    logger.info("event task_completed task=%s by=%s", task_id, completed_by_user_id)
    task = _task(task_id)
    notify_users(
        owner_and_admin_user_ids(task.owner_id, exclude=[completed_by_user_id]),
        template="task_completed",
        context={
            "terminal": str(task.terminal),
            "completer": person_name(completed_by_user_id, task.owner_id),
        },
        owner_id=task.owner_id,
    )


@never_raises
def task_cancelled(*, task_id: int, cancelled_by_user_id: int | None) -> None:
    """A task was cancelled: tell its assignee."""
    logger.info("event task_cancelled task=%s by=%s", task_id, cancelled_by_user_id)
    task = _task(task_id)
    if task.assignee_id is None or task.assignee_id == cancelled_by_user_id:
        return
    notify_users(
        [task.assignee_id],
        template="task_cancelled",
        context={"terminal": str(task.terminal)},
        owner_id=task.owner_id,
    )
