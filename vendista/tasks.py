"""Celery tasks of the Vendista pipeline (queue `imports`): thin wrappers over `services`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction

from vendista import services
from vendista.client import VendistaUnavailable
from vendista.models import ImportMode, ImportRun, RunKind

logger = logging.getLogger(__name__)

# Long imports (full history) page at the rate limit; keep them under the broker's visibility
# timeout (1 h) so a running task is never delivered twice.
IMPORT_LIMITS: dict[str, Any] = {"soft_time_limit": 3000, "time_limit": 3300}
TRANSIENT_RETRIES = 5


@shared_task(bind=True, acks_late=True, max_retries=None, **IMPORT_LIMITS)
def execute_run(self: Any, *, run_id: int) -> dict[str, Any]:
    """Execute one queued import or sync run. Safe to re-run (a redelivered run restarts its
    window; stored rows are never deducted twice)."""
    try:
        summary = services.execute_run(run_id)
    except services.RunNotRunnable:
        logger.info("run %s is already finished", run_id)
        return {"run_id": run_id, "status": "not_runnable"}
    except services.OwnerBusy as exc:
        # Another run of the owner is working; try again shortly (bounded by staleness).
        if self.request.retries >= 120:
            services.fail_run(run_id, f"owner stayed busy: {exc}")
            return {"run_id": run_id, "status": "failed"}
        raise self.retry(countdown=settings.VENDISTA_BUSY_RETRY_SECONDS, exc=exc) from exc
    except VendistaUnavailable as exc:
        # Each start of the run counts an attempt; busy waits do not.
        transient = ImportRun.objects.values_list("attempts", flat=True).get(pk=run_id)
        if transient >= TRANSIENT_RETRIES:
            services.fail_run(run_id, f"Vendista unavailable: {exc}")
            return {"run_id": run_id, "status": "failed"}
        raise self.retry(countdown=min(600, 30 * 2 ** (transient - 1)), exc=exc) from exc
    return summary.__dict__


def enqueue(
    owner_id: int,
    *,
    kind: str = RunKind.IMPORT,
    window_kind: str | None = None,
    window: tuple[datetime, datetime] | None = None,
    mode: str = ImportMode.REGULAR,
    trigger: str,
    requested_by: Any = None,
    skip_if_active: bool = True,
) -> int | None:
    """Record a run and queue its task after commit; None when de-duplicated away."""
    if kind == RunKind.IMPORT and window is None:
        window = services.owner_window(owner_id, window_kind or "last_24h")
    with transaction.atomic():
        run = services.create_run(
            owner_id,
            kind=kind,
            mode=mode,
            window=window,
            trigger=trigger,
            requested_by=requested_by,
            skip_if_active=skip_if_active,
        )
        if run is None:
            return None
        run_id = run.pk
        transaction.on_commit(lambda: execute_run.delay(run_id=run_id))
    return run_id


@shared_task
def schedule_imports(*, window: str, trigger: str) -> dict[str, Any]:
    """Beat: queue one regular import per importable owner (ticks de-duplicated per owner)."""
    queued = [
        run_id
        for owner_id in services.importable_owner_ids()
        if (
            run_id := enqueue(
                owner_id,
                window_kind=window,
                trigger=trigger,
                skip_if_active=trigger == "schedule_15min",
            )
        )
    ]
    skipped = services.record_skips(trigger)
    return {"queued": len(queued), "skipped": skipped}


@shared_task
def schedule_terminal_syncs() -> dict[str, Any]:
    """Beat: queue one terminal sync per importable owner (de-duplicated per owner)."""
    queued = [
        run_id
        for owner_id in services.importable_owner_ids()
        if (run_id := enqueue(owner_id, kind=RunKind.SYNC, trigger="schedule_15min"))
    ]
    return {"queued": len(queued)}


@shared_task(acks_late=True)
def check_payment_statuses() -> dict[str, Any]:
    """Beat 04:00: try to reactivate every owner suspended for an unpaid Vendista account."""
    reactivated = [
        owner_id
        for owner_id in services.suspended_owner_ids()
        if services.check_payment_status(owner_id)
    ]
    return {"reactivated": reactivated}
