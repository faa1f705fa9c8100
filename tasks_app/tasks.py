"""Celery tasks of the tasks app."""

from __future__ import annotations

from celery import shared_task

from tasks_app import services


@shared_task
def hide_finished_tasks() -> int:
    """Beat 23:59: hide tasks finished before today from the working list (kept). Re-runnable."""
    return services.hide_finished_tasks()
