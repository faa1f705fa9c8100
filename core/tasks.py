"""Project-wide housekeeping tasks (default queue)."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.contrib.sessions.models import Session
from django.utils import timezone

from core import sweeps
from core.jobs import enqueue

logger = logging.getLogger("core.tasks")


@shared_task
def clear_expired_web_sessions() -> int:
    """Delete expired admin/API web sessions; returns how many. Safe to re-run."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


@shared_task(acks_late=True, ignore_result=True)
def sweep_due_work() -> dict[str, int]:
    """Queue again every unit of work PostgreSQL holds that is due and not claimed (see
    `core.sweeps`). Safe to re-run and to run concurrently: the work claims its rows."""
    return sweeps.run_all()


@worker_ready.connect
def _sweep_on_worker_start(**_: object) -> None:
    # A worker that starts after an outage picks up what waited meanwhile, without waiting for
    # beat's next minute.
    try:
        enqueue("core.tasks.sweep_due_work")
    except Exception:
        logger.exception("could not queue the start-up sweep")
