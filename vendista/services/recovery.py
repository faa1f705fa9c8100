"""Interrupted runs: the sweep that resumes runs whose heartbeat stopped (and alerts when one
keeps failing), and cancelling a run."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from vendista import metrics, notices
from vendista.models import ACTIVE_RUN_STATUSES, ImportRun, RunStatus
from vendista.services import runs


def resume_stalled_runs() -> dict[str, int]:
    """Queue again every active run whose heartbeat stopped (lost message, killed worker or
    command, crashed database); a run interrupted `VENDISTA_RUN_MAX_ATTEMPTS` times is failed
    instead. Both raise an admin alert. Safe to re-run (an attempt claims its run under the
    owner lock, so a duplicate message only finds the run taken)."""
    now = timezone.now()
    resumed = failed = 0
    before = now - runs.stale_after()
    for run in ImportRun.objects.filter(
        Q(heartbeat_at__lt=before) | Q(heartbeat_at__isnull=True, created_at__lt=before),
        status__in=ACTIVE_RUN_STATUSES,
    ).order_by("pk"):
        with transaction.atomic():
            if run.attempts >= settings.VENDISTA_RUN_MAX_ATTEMPTS:
                stopped = ImportRun.objects.filter(
                    pk=run.pk, status__in=ACTIVE_RUN_STATUSES, lease_token=run.lease_token
                ).update(
                    status=RunStatus.FAILED,
                    error=f"interrupted {run.attempts} times; given up",
                    finished_at=now,
                )
                if stopped:
                    failed += 1
                    _alert(
                        run, f"run {run.pk} was interrupted {run.attempts} times; it was stopped"
                    )
                continue
            runs.requeue(run.pk)
            metrics.RUNS_RESUMED.labels(kind=run.kind).inc()
            resumed += 1
            if run.attempts >= settings.VENDISTA_RUN_ALERT_ATTEMPTS:
                _alert(
                    run,
                    f"run {run.pk} keeps being interrupted ({run.attempts} attempts); "
                    f"resuming it at page {run.next_page}",
                )
    return {"resumed": resumed, "failed": failed}


def _alert(run: ImportRun, error: str) -> None:
    """The alert row is written in the transaction that re-queues or fails the run (a savepoint:
    a failure to record it never undoes the run's change), so a crash loses neither."""
    notices.operation_failed(
        owner_id=run.owner_id, context=f"vendista.{run.kind}.interrupted", error=error
    )


def touch_queued(run_id: int) -> None:
    """A queued run's task is alive (waiting for its owner's lock): keep the sweep off it."""
    ImportRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(heartbeat_at=timezone.now())


def cancel_run(run_id: int, *, by: Any = None) -> bool:
    """Cancel a queued or running run: its worker stops before its next page commit (the page
    in flight is rolled back) and frees the owner's lock. True if it was active. Safe to re-run."""
    who = getattr(by, "get_username", lambda: "")() if by is not None else ""
    return bool(
        ImportRun.objects.filter(pk=run_id, status__in=ACTIVE_RUN_STATUSES).update(
            status=RunStatus.CANCELLED,
            error=f"cancelled by {who}" if who else "cancelled",
            finished_at=timezone.now(),
        )
    )
