"""The beat ticks: one queued run per importable owner, recorded a batch of owners per
transaction (not one transaction per owner: a 2,000-owner tick took ~30 s of an import slot),
de-duplicated as `runs.create_run` does; and the skipped owners' rows."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.jobs import enqueue_on_commit
from vendista.models import (
    ImportMode,
    ImportRun,
    PaymentStatus,
    RunKind,
    RunStatus,
    TokenStatus,
    VendistaAccount,
)
from vendista.services import runs

BATCH = 250


def enqueue_for_owners(
    owner_ids: list[int],
    *,
    kind: str = RunKind.IMPORT,
    window_kind: str = "last_24h",
    trigger: str,
    skip_if_active: bool = True,
) -> list[int]:
    """Record a regular run of `kind` for each owner and queue its task after its batch commits
    (at the scheduled priority); an owner whose active run makes it needless is skipped, a
    stalled one queued again. Returns the new runs' ids. Safe to re-run: each batch locks its
    owners' connections first, so two ticks never both record a run for one owner."""
    queued: list[int] = []
    ordered = sorted(owner_ids)
    # The scheduled windows are the same for every owner; `history` starts at each one's setup.
    shared = runs.window_for(window_kind) if window_kind != "history" else None
    for start in range(0, len(ordered), BATCH):
        batch = ordered[start : start + BATCH]
        with transaction.atomic():
            list(
                VendistaAccount.objects.select_for_update()
                .filter(owner_id__in=batch)
                .order_by("owner_id")
                .values_list("pk", flat=True)
            )
            active = runs.active_runs(batch, kind)
            now = timezone.now()
            new = []
            for owner_id in batch:
                window = None
                if kind == RunKind.IMPORT:
                    window = shared or runs.owner_window(owner_id, window_kind)
                if runs.covered(
                    active.get(owner_id, []),
                    mode=ImportMode.REGULAR,
                    window=window,
                    skip_if_active=skip_if_active,
                ):
                    continue
                new.append(
                    ImportRun(
                        owner_id=owner_id,
                        kind=kind,
                        mode=ImportMode.REGULAR,
                        trigger=trigger,
                        date_from=window[0] if window else None,
                        date_to=window[1] if window else None,
                        heartbeat_at=now,
                    )
                )
            for run in ImportRun.objects.bulk_create(new):
                enqueue_on_commit(
                    "vendista.tasks.execute_run", run_id=run.pk, priority=runs.SCHEDULED_PRIORITY
                )
                queued.append(run.pk)
    return queued


def record_skips(trigger: str) -> int:
    """Scheduled runs record why suspended owners were skipped (one row per owner and tick)."""
    skipped = 0
    for stored in VendistaAccount.objects.filter(imports_enabled=True).exclude(
        payment_status=PaymentStatus.ACTIVE,
        token_status__in=[TokenStatus.VALID, TokenStatus.EXPIRED],
    ):
        reason = runs.skip_reason(stored)
        if reason:
            now = timezone.now()
            ImportRun.objects.create(
                owner_id=stored.owner_id,
                kind=RunKind.IMPORT,
                trigger=trigger,
                status=RunStatus.SKIPPED,
                error=reason,
                finished_at=now,
            )
            skipped += 1
    return skipped
