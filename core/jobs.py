"""Queueing Celery tasks by name.

A service that starts background work names the task (`"reports.tasks.generate_report"`)
instead of importing its app's `tasks` module, which imports the service: the tasks stay thin
wrappers on top, and no import runs back up. The task's own options (queue route, time limits)
apply as if it had been called directly.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import current_app
from django.db import transaction


def enqueue(
    task_name: str,
    /,
    *,
    countdown: float | None = None,
    priority: int | None = None,
    **kwargs: Any,
) -> None:
    """Queue `task_name` with keyword arguments (ids and plain values), now. `priority`: the
    broker's (Redis: 0, the default, is delivered first; 3, 6, 9 after it)."""
    current_app.send_task(task_name, kwargs=kwargs, countdown=countdown, priority=priority)


def enqueue_on_commit(
    task_name: str,
    /,
    *,
    countdown: float | None = None,
    priority: int | None = None,
    **kwargs: Any,
) -> None:
    """Queue `task_name` once the current transaction commits (at once outside one)."""
    transaction.on_commit(
        partial(enqueue, task_name, countdown=countdown, priority=priority, **kwargs)
    )
