"""Celery tasks of the Vendista pipeline (queue `imports`): thin wrappers over `services`."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import connections

from vendista import metrics
from vendista.client import VendistaUnavailable
from vendista.models import ImportRun, RunKind
from vendista.services import accounts, recovery, runs, schedule
from vendista.services.lock import LeaseLost, OwnerBusy

logger = logging.getLogger(__name__)

# Long imports (full history) page at the rate limit; keep them under the broker's visibility
# timeout (1 h) so a running task is never delivered twice.
IMPORT_LIMITS: dict[str, Any] = {"soft_time_limit": 3000, "time_limit": 3300}
TRANSIENT_RETRIES = 5


@shared_task(bind=True, acks_late=True, max_retries=None, **IMPORT_LIMITS)
def execute_run(self: Any, *, run_id: int) -> dict[str, Any]:
    """Execute one queued import or sync run. Safe to re-run (a redelivered run resumes after
    its last committed page; stored rows are never deducted twice)."""
    try:
        summary = runs.execute_run(run_id, may_yield=True)
    except runs.RunYielded as exc:
        # Its token's limit would keep this worker idle: the run continues in a new task once
        # the token allows the next page, ahead of the scheduled backlog (other owners' runs
        # use the worker meanwhile).
        execute_run.apply_async(kwargs={"run_id": run_id}, countdown=exc.wait, priority=0)
        return {"run_id": run_id, "status": "yielded"}
    except runs.RunNotRunnable:
        logger.info("run %s is already finished", run_id)
        return {"run_id": run_id, "status": "not_runnable"}
    except LeaseLost as exc:
        logger.warning("run %s stopped: %s", run_id, exc)
        return {"run_id": run_id, "status": "lease_lost"}
    except OwnerBusy as exc:
        # Another run of the owner is working; try again shortly (bounded by staleness).
        if self.request.retries >= 120:
            runs.fail_run(run_id, f"owner stayed busy: {exc}")
            return {"run_id": run_id, "status": "failed"}
        recovery.touch_queued(run_id)
        metrics.LOCK_WAITS.inc()
        raise self.retry(countdown=settings.VENDISTA_BUSY_RETRY_SECONDS, exc=exc) from exc
    except runs.DATABASE_GONE as exc:
        # PostgreSQL is down or restarting: the run stays as it was (resumable); try again soon.
        logger.warning("run %s interrupted by the database: %s", run_id, exc)
        connections.close_all()
        raise self.retry(countdown=settings.VENDISTA_BUSY_RETRY_SECONDS, exc=exc) from exc
    except VendistaUnavailable as exc:
        # Each start of the run counts an attempt; busy waits do not.
        transient = ImportRun.objects.values_list("attempts", flat=True).get(pk=run_id)
        if transient >= TRANSIENT_RETRIES:
            runs.fail_run(run_id, f"Vendista unavailable: {exc}")
            return {"run_id": run_id, "status": "failed"}
        raise self.retry(countdown=min(600, 30 * 2 ** (transient - 1)), exc=exc) from exc
    return summary.__dict__


@shared_task
def schedule_imports(*, window: str, trigger: str) -> dict[str, Any]:
    """Beat: queue one regular import per importable owner (ticks de-duplicated per owner)."""
    queued = schedule.enqueue_for_owners(
        accounts.importable_owner_ids(),
        window_kind=window,
        trigger=trigger,
        skip_if_active=trigger == "schedule_15min",
    )
    skipped = schedule.record_skips(trigger)
    return {"queued": len(queued), "skipped": skipped}


@shared_task(acks_late=True)
def resume_stalled_runs() -> dict[str, int]:
    """Beat, every minute: queue again the runs whose heartbeat stopped. Safe to re-run."""
    return recovery.resume_stalled_runs()


@shared_task
def schedule_terminal_syncs() -> dict[str, Any]:
    """Beat: queue one terminal sync per importable owner (de-duplicated per owner)."""
    queued = schedule.enqueue_for_owners(
        accounts.importable_owner_ids(), kind=RunKind.SYNC, trigger="schedule_15min"
    )
    return {"queued": len(queued)}


@shared_task(acks_late=True)
def check_payment_statuses() -> dict[str, Any]:
    """Beat 04:00: try to reactivate every owner suspended for an unpaid Vendista account."""
    reactivated = [
        owner_id
        for owner_id in accounts.suspended_owner_ids()
        if accounts.check_payment_status(owner_id)
    ]
    return {"reactivated": reactivated}


@shared_task(acks_late=True)
def purge_old_import_runs() -> int:
    """Beat 04:45: delete finished runs older than `IMPORT_RUN_RETENTION_DAYS`. Safe to re-run."""
    return runs.purge_old_runs()
