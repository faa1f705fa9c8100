"""Events the rest of the product hands to the notifications layer.

Callers invoke these after their database transaction has committed (`transaction.on_commit`),
with ids and plain values only. Each function decides who hears about the event, records the
`Delivery` rows and queues them; it never raises into the caller's business flow.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.utils import timezone

from notifications import services
from notifications.formatting import short_item_name
from tenancy.models import Membership

logger = logging.getLogger("notifications.events")

F = TypeVar("F", bound=Callable[..., None])


def _never_raises(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except Exception:
            logger.exception("notification event %s failed (kwargs=%s)", func.__name__, kwargs)

    return wrapper  # type: ignore[return-value]


def person_name(user_id: int | None, owner_id: int) -> str:
    """How a person is called in messages: their display name at the owner, else full name,
    else login."""
    if user_id is None:
        return "—"
    display = (
        Membership.objects.filter(owner_id=owner_id, user_id=user_id)
        .values_list("display_name", flat=True)
        .first()
    )
    if display:
        return display
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return "—"
    full_name = getattr(user, "get_full_name", lambda: "")()
    return str(full_name or user.get_username())


def _task(task_id: int) -> Any:
    from tasks_app.models import Task

    return Task.objects.select_related("terminal").get(pk=task_id)


def _items(task: Any) -> list[str]:
    details = task.details or {}
    critical = [short_item_name(str(item)) for item in details.get("critical_items", [])]
    missing = [
        f"{short_item_name(str(item))} (не настроено)" for item in details.get("missing_items", [])
    ]
    return critical + missing


@_never_raises
def restock_task_created(*, task_id: int) -> None:
    """A restock task was created (automatically or by hand): tell the assignee, owner, admins."""
    logger.info("event restock_task_created task=%s", task_id)
    task = _task(task_id)
    terminal = str(task.terminal)
    items = _items(task)
    staff = services.owner_and_admin_user_ids(
        task.owner_id, exclude=[] if task.is_auto else [task.created_by_id]
    )
    if task.assignee_id is None:
        services.notify_users(
            staff,
            template="task_unassigned",
            context={"terminal": terminal, "items": items},
            owner_id=task.owner_id,
        )
        return
    if task.is_auto:
        services.notify_users(
            [task.assignee_id],
            template="task_new_auto",
            context={"terminal": terminal, "items": items},
            owner_id=task.owner_id,
        )
    else:
        services.notify_users(
            [task.assignee_id],
            template="task_new_manual",
            context={"terminal": terminal, "comment": task.comment},
            owner_id=task.owner_id,
        )
    services.notify_users(
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


@_never_raises
def restock_task_items_added(*, task_id: int, added_items: list[str]) -> None:
    """More items became critical while the task was open: tell about the additions only."""
    logger.info("event restock_task_items_added task=%s items=%s", task_id, added_items)
    if not added_items:
        return
    task = _task(task_id)
    unassigned = task.assignee_id is None
    recipients = (
        services.owner_and_admin_user_ids(task.owner_id) if unassigned else [task.assignee_id]
    )
    services.notify_users(
        recipients,
        template="task_items_added",
        context={
            "terminal": str(task.terminal),
            "items": [short_item_name(str(item)) for item in added_items],
            "unassigned": unassigned,
        },
        owner_id=task.owner_id,
    )


@_never_raises
def task_completed(*, task_id: int, completed_by_user_id: int | None) -> None:
    """A task was completed: tell owner and admins except the person who completed it."""
    logger.info("event task_completed task=%s by=%s", task_id, completed_by_user_id)
    task = _task(task_id)
    services.notify_users(
        services.owner_and_admin_user_ids(task.owner_id, exclude=[completed_by_user_id]),
        template="task_completed",
        context={
            "terminal": str(task.terminal),
            "completer": person_name(completed_by_user_id, task.owner_id),
        },
        owner_id=task.owner_id,
    )


@_never_raises
def task_cancelled(*, task_id: int, cancelled_by_user_id: int | None) -> None:
    """A task was cancelled: tell its assignee."""
    logger.info("event task_cancelled task=%s by=%s", task_id, cancelled_by_user_id)
    task = _task(task_id)
    if task.assignee_id is None or task.assignee_id == cancelled_by_user_id:
        return
    services.notify_users(
        [task.assignee_id],
        template="task_cancelled",
        context={"terminal": str(task.terminal)},
        owner_id=task.owner_id,
    )


_SOURCES = {"import": "импорт транзакций", "sync": "синхронизация терминалов", "token": "токен"}


@_never_raises
def payment_required(*, owner_id: int, source: str, error: str) -> None:
    """Vendista answered 402 for this owner (`source`: "import", "sync" or "token").

    Called exactly once per transition to `payment_required` (the caller guarantees it); the
    delivery is also keyed on the transition, so a repeated call never sends a second notice.
    """
    logger.warning("event payment_required owner=%s source=%s", owner_id, source)
    from tenancy.models import Owner
    from vendista.models import VendistaAccount

    owner = Owner.objects.get(pk=owner_id)
    since = (
        VendistaAccount.objects.filter(owner_id=owner_id)
        .values_list("payment_required_at", flat=True)
        .first()
    )
    marker = since.isoformat() if since else timezone.localdate().isoformat()
    services.notify_admin_chat(
        template="payment_required",
        context={
            "owner_name": owner.name,
            "owner_id": owner_id,
            "source": source,
            "source_label": _SOURCES.get(source, source),
            "time": timezone.localtime().strftime("%d.%m.%Y %H:%M:%S"),
            "error": error[:1500],
        },
        dedup_key=f"payment_required:{owner_id}:{marker}",
    )


@_never_raises
def owner_reactivated(*, owner_id: int) -> None:
    """The 04:00 check (or a staff reset) found the owner's Vendista access working again."""
    logger.info("event owner_reactivated owner=%s", owner_id)
    from tenancy.models import Owner

    owner = Owner.objects.get(pk=owner_id)
    services.notify_admin_chat(
        template="owner_reactivated", context={"owner_name": owner.name, "owner_id": owner_id}
    )


@_never_raises
def import_failed(*, owner_id: int | None, context: str, error: str) -> None:
    """A Vendista operation failed for a reason staff should know about (grouped, de-duplicated,
    capped per hour by the admin notifier)."""
    logger.warning("event import_failed owner=%s context=%s error=%s", owner_id, context, error)
    from notifications.alerts import record_import_failure

    record_import_failure(owner_id=owner_id, context=context, error=error)
