"""Import and sync runs: the window a schedule imports, a queued run recorded (de-duplicated
per owner) and its task queued, then executed under the owner lock page by page, counting as it
goes, until it succeeds, fails, or goes back to the queue on a transient error."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from core.clock import MOSCOW, moscow_midnight
from core.jobs import enqueue_on_commit
from planning.services import refresh_forecasts
from tasks_app.services import open_early_restock_tasks
from vendista import metrics, notices
from vendista.client import (
    Pager,
    RawPage,
    VendistaClient,
    VendistaInvalidCredentials,
    VendistaPaymentRequired,
    VendistaUnauthorized,
    VendistaUnavailable,
)
from vendista.models import (
    ACTIVE_RUN_STATUSES,
    ImportMode,
    ImportRun,
    PaymentStatus,
    RunKind,
    RunStatus,
    TokenStatus,
    VendistaAccount,
)
from vendista.pipeline import ImportContext, PageResult, process_page
from vendista.services import accounts, lease, sync
from vendista.services.lock import LeaseLost, OwnerBusy, owner_lock

logger = logging.getLogger(__name__)

Window = tuple[datetime, datetime]
# PostgreSQL went away under a statement (crash, restart), through Django or psycopg directly.
DATABASE_GONE = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


class RunNotRunnable(Exception):
    """The run is finished or unknown."""


class RunYielded(Exception):
    """The next page would wait on the run's own token: it is queued again (see `_import`)."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"yielded for {wait:.2f} s")
        self.wait = wait


YIELD_WAIT_S = 0.1  # a longer wait on the run's own token: it yields
# Redis delivers priority 0 first: scheduled runs wait behind a person's, a resumed or a yielded.
SCHEDULED_PRIORITY = 3


# --- windows ---------------------------------------------------------------------------------


def window_for(
    kind: str, *, now: datetime | None = None, setup: date | None = None
) -> tuple[datetime, datetime]:
    """The import window of a schedule: `last_24h`, `previous_day_and_today`, `last_7_days` or
    `history` (from the owner's setup date)."""
    now = now or timezone.now()
    today = now.astimezone(MOSCOW).date()
    if kind == "last_24h":
        return now - timedelta(hours=24), now
    if kind == "previous_day_and_today":
        return moscow_midnight(today - timedelta(days=1)), now
    if kind == "last_7_days":
        return now - timedelta(days=7), now
    if kind == "history":
        return moscow_midnight(setup or (today - timedelta(days=365))), now
    raise ValueError(f"unknown window {kind!r}")


def owner_window(owner_id: int, kind: str) -> tuple[datetime, datetime]:
    """`window_for` an owner: `history` starts at the owner's setup date."""
    setup = None
    if kind == "history":
        setup = (
            VendistaAccount.objects.filter(owner_id=owner_id)
            .values_list("setup_date", flat=True)
            .first()
        )
    return window_for(kind, setup=setup)


# --- runs ------------------------------------------------------------------------------------


def create_run(
    owner_id: int,
    *,
    kind: str = RunKind.IMPORT,
    mode: str = ImportMode.REGULAR,
    window: tuple[datetime, datetime] | None = None,
    trigger: str,
    requested_by: Any = None,
    skip_if_active: bool = True,
) -> ImportRun | None:
    """Record a queued run, de-duplicated per owner: a scheduled tick that finds a run of the
    same kind queued or running does nothing; other triggers skip only when an active run already
    covers their window. An active run whose heartbeat stopped is queued again (resumed from its
    last committed page), never abandoned."""
    with transaction.atomic():
        VendistaAccount.objects.select_for_update().filter(owner_id=owner_id).first()
        active = active_runs([owner_id], kind).get(owner_id, [])
        if covered(active, mode=mode, window=window, skip_if_active=skip_if_active):
            return None
        return ImportRun.objects.create(
            owner_id=owner_id,
            kind=kind,
            mode=mode,
            trigger=trigger,
            requested_by=requested_by if getattr(requested_by, "pk", None) else None,
            date_from=window[0] if window else None,
            date_to=window[1] if window else None,
            heartbeat_at=timezone.now(),
        )


def active_runs(owner_ids: list[int], kind: str) -> dict[int, list[ImportRun]]:
    """The owners' queued or running runs of `kind`, by owner; one whose heartbeat stopped is
    queued again (resumed from its last committed page), never abandoned."""
    found: dict[int, list[ImportRun]] = {}
    for run in ImportRun.objects.filter(
        owner_id__in=owner_ids, kind=kind, status__in=ACTIVE_RUN_STATUSES
    ):
        if is_stalled(run):
            requeue(run.pk)
        found.setdefault(run.owner_id, []).append(run)
    return found


def covered(
    active: list[ImportRun], *, mode: str, window: Window | None, skip_if_active: bool
) -> bool:
    """Whether an owner's active runs make a new one needless (see `create_run`)."""
    if skip_if_active and active:
        return True
    return window is not None and any(
        run.mode == mode
        and run.date_from is not None
        and run.date_to is not None
        and run.date_from <= window[0]
        and run.date_to >= window[1] - COVER_SLACK
        for run in active
    )


# A run ending this little before the asked end covers it: the next tick reads the rest.
COVER_SLACK = timedelta(minutes=15)


def stale_after() -> timedelta:
    """How long an active run may go without a heartbeat before it counts as interrupted."""
    return timedelta(seconds=max(settings.VENDISTA_RUN_STALE_AFTER, settings.VENDISTA_LOCK_TTL))


def is_stalled(run: ImportRun, now: datetime | None = None) -> bool:
    """The run is queued or running but nothing has touched it for `stale_after()`."""
    last = run.heartbeat_at or run.created_at
    return run.status in ACTIVE_RUN_STATUSES and last < (now or timezone.now()) - stale_after()


def requeue(run_id: int) -> None:
    """Queue the task of an active run again (after commit); the run's heartbeat is stamped so
    the sweep does not queue it twice. Safe to re-run: an attempt claims the run under the lock."""
    ImportRun.objects.filter(pk=run_id, status__in=ACTIVE_RUN_STATUSES).update(
        heartbeat_at=timezone.now()
    )
    enqueue_on_commit("vendista.tasks.execute_run", run_id=run_id)


def _finish(run: ImportRun, status: str, error: str = "", token: int | None = None) -> None:
    # With a token: only while this attempt still holds the run (a cancelled run stays so).
    rows = ImportRun.objects.filter(pk=run.pk, status__in=ACTIVE_RUN_STATUSES)
    if token is not None:
        rows = rows.filter(lease_token=token)
    if rows.update(
        status=status, error=error[:2000], finished_at=timezone.now(), heartbeat_at=timezone.now()
    ):
        metrics.RUNS_FINISHED.labels(kind=run.kind, status=status).inc()
    run.refresh_from_db()


def skip_reason(stored: VendistaAccount | None) -> str | None:
    """Why an owner's runs are not executed (no connection, unpaid, bad credentials), or None."""
    if stored is None:
        return "owner has no Vendista connection"
    if stored.payment_status != PaymentStatus.ACTIVE:
        return "skipped: Vendista payment required"
    if stored.token_status == TokenStatus.INVALID_CREDS:
        return "skipped: invalid Vendista credentials"
    if not (stored.token_encrypted or stored.login_encrypted):
        return "skipped: no Vendista credentials"
    return None


@dataclass
class RunSummary:
    run_id: int
    status: str
    pages: int
    fetched: int
    inserted: int
    updated: int
    deducted: int
    needs_recipe: int
    unknown_terminal: int
    restored: int
    tasks_created: int
    duration_s: float
    error: str

    @classmethod
    def of(cls, run: ImportRun) -> RunSummary:
        return cls(
            run_id=run.pk,
            status=run.status,
            pages=run.pages_done,
            fetched=run.fetched,
            inserted=run.inserted,
            updated=run.updated,
            deducted=run.deducted,
            needs_recipe=run.needs_recipe,
            unknown_terminal=run.unknown_terminal,
            restored=run.restored,
            tasks_created=run.tasks_created,
            duration_s=run.duration_s or 0.0,
            error=run.error,
        )


ProgressCallback = Callable[[ImportRun], None]


def execute_run(
    run_id: int, *, progress: ProgressCallback | None = None, may_yield: bool = False
) -> RunSummary:
    """Run a queued (or interrupted) import or sync run to its end. Safe to re-run: an
    interrupted import resumes after its last committed page; rows already stored are only
    updated, never deducted twice. Raises OwnerBusy (retry later), VendistaUnavailable
    (transient) and LeaseLost (the run was cancelled or taken over: stop quietly); with
    `may_yield`, RunYielded (queued again: execute it after `wait`)."""
    run = ImportRun.objects.filter(pk=run_id).first()
    if run is None or run.status not in ACTIVE_RUN_STATUSES:
        raise RunNotRunnable(f"run {run_id} is not queued or running")
    stored = VendistaAccount.objects.filter(owner_id=run.owner_id).first()
    reason = skip_reason(stored)
    if reason is not None:
        _finish(run, RunStatus.SKIPPED, reason)
        return RunSummary.of(run)
    assert stored is not None
    with owner_lock(run.owner_id, f"run:{run.pk}") as lock:
        token = lease.claim(run.pk)
        if token is None:
            raise RunNotRunnable(f"run {run_id} was finished or cancelled meanwhile")
        run.refresh_from_db()
        with lease.Lease(run.pk, token, lock) as held:
            _execute_claimed(run, stored, held, progress, may_yield)
    run.refresh_from_db()
    return RunSummary.of(run)


def _execute_claimed(
    run: ImportRun,
    stored: VendistaAccount,
    held: lease.Lease,
    progress: ProgressCallback | None,
    may_yield: bool,
) -> None:
    token = held.token
    client: VendistaClient | None = None
    stored_token = accounts.decrypt_or_empty(stored.token_encrypted)
    try:
        client = accounts.make_client(stored)
        try:
            if run.kind == RunKind.SYNC:
                _sync(run, client, token)
            else:
                _import(run, client, held, progress, may_yield)
        finally:
            # A token refreshed on the way is kept, whatever happened next.
            accounts.save_token(run.owner_id, client, stored_token)
    except LeaseLost:
        raise
    except RunYielded:
        # Queued again after its last committed page: a yield, no attempt.
        ImportRun.objects.filter(pk=run.pk, lease_token=token, status=RunStatus.RUNNING).update(
            status=RunStatus.QUEUED,
            attempts=F("attempts") - 1,
            yields=F("yields") + 1,
            heartbeat_at=timezone.now(),
        )
        raise
    except VendistaPaymentRequired as exc:
        source = "sync" if run.kind == RunKind.SYNC else "import"
        accounts.mark_payment_required(run.owner_id, source=source, error=str(exc))
        _finish(run, RunStatus.FAILED, "Vendista payment required (HTTP 402)", token)
    except VendistaInvalidCredentials as exc:
        accounts.mark_invalid_credentials(run.owner_id, str(exc))
        _finish(run, RunStatus.FAILED, f"invalid Vendista credentials: {exc}", token)
    except VendistaUnauthorized as exc:
        VendistaAccount.objects.filter(owner_id=run.owner_id).update(
            token_status=TokenStatus.EXPIRED
        )
        with transaction.atomic():  # the failure and its alert commit together
            _finish(run, RunStatus.FAILED, f"token refused after a refresh: {exc}", token)
            notices.operation_failed(
                owner_id=run.owner_id, context="vendista.token", error=str(exc)
            )
    except VendistaUnavailable as exc:
        # Transient: the run goes back to the queue; the task decides whether to retry.
        ImportRun.objects.filter(pk=run.pk, lease_token=token, status=RunStatus.RUNNING).update(
            status=RunStatus.QUEUED, error=f"transient: {exc}"[:2000], heartbeat_at=timezone.now()
        )
        raise
    except DATABASE_GONE:
        # PostgreSQL went away (a crash, a restart): the page in flight was rolled back and the
        # run stays resumable after its last committed page — never failed for it. The task
        # tries again shortly; if it cannot, the stopped heartbeat brings the sweep.
        raise
    except Exception as exc:
        with transaction.atomic():
            _finish(run, RunStatus.FAILED, f"{type(exc).__name__}: {exc}", token)
            notices.operation_failed(
                owner_id=run.owner_id, context=f"vendista.{run.kind}", error=str(exc)
            )
        raise
    finally:
        if client is not None:
            client.close()


def fail_run(run_id: int, error: str) -> None:
    """Give up on a run (transient errors outlasted the retries)."""
    run = ImportRun.objects.get(pk=run_id)
    with transaction.atomic():
        _finish(run, RunStatus.FAILED, error)
        notices.operation_failed(owner_id=run.owner_id, context=f"vendista.{run.kind}", error=error)


def _import(
    run: ImportRun,
    client: VendistaClient,
    held: lease.Lease,
    progress: ProgressCallback | None,
    may_yield: bool = False,
) -> None:
    assert run.date_from is not None and run.date_to is not None
    token = held.token
    # An interrupted run resumes after its last committed page, with the counts it had.
    if run.next_page <= 1:
        for name in RUN_COUNTERS:
            setattr(run, name, 0)
        run.pages_total = None
    run.error = ""
    _save_progress(run, token)
    ctx = ImportContext.load(run.owner_id, run.mode)
    pager = Pager(client.page_size)
    pager.page = max(1, run.next_page)
    synced = False
    fetch = partial(client.get_transactions_page, run.date_from, run.date_to)
    # The next page is fetched while this one is written, once the answers promise it.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vendista-fetch") as fetcher:
        pending: Future[RawPage] | None = fetcher.submit(fetch, pager.page)
        while pending is not None:
            page = pending.result()
            held.check()
            ahead = pager.page + 1
            # Not ahead of a token that would keep this worker waiting: it yields instead.
            busy = may_yield and client.token_wait() > YIELD_WAIT_S
            pending = fetcher.submit(fetch, ahead) if pager.expects(ahead) and not busy else None
            run.next_page = pager.page + 1
            try:
                with _page_transaction():
                    result = process_page(ctx, page)
                    _count(run, result)
                    _save_progress(run, token)
            except psycopg.errors.DataError:
                # A value of an unexpected type: read this page the careful way.
                with _page_transaction():
                    result = process_page(ctx, page, robust=True)
                    _count(run, result)
                    _save_progress(run, token)
            # Counted once the page committed (a rolled-back page is read again).
            metrics.PAGES_IMPORTED.inc()
            metrics.TRANSACTIONS_FETCHED.inc(result.fetched)
            metrics.TRANSACTIONS_INSERTED.inc(result.inserted)
            if result.unknown_terminal and not synced:
                # Sales of terminals we do not know yet: sync once; the sync deducts them.
                synced = True
                resolved = sync.sync_for_import(run.owner_id)
                run.deducted += resolved["deducted"]
                run.tasks_created += resolved["tasks_created"]
                run.unknown_terminal = max(0, run.unknown_terminal - resolved["resolved"])
                _save_progress(run, token)
                ctx = ImportContext.load(run.owner_id, run.mode)
            if progress is not None:
                progress(run)
            more = pager.advance(
                items=result.fetched,
                items_count=result.items_count,
                items_per_page=result.items_per_page,
                page_number=result.page_number,
            )
            if not more:
                break
            if pending is None and may_yield and (wait := client.token_wait()) > YIELD_WAIT_S:
                # Queued again after this page: the worker serves other owners meanwhile.
                raise RunYielded(wait)
            if pending is None:
                pending = fetcher.submit(fetch, pager.page)
    _finish(run, RunStatus.SUCCEEDED, token=token)
    VendistaAccount.objects.filter(owner_id=run.owner_id).update(
        last_successful_import_at=timezone.now()
    )
    after_import(run.owner_id, run.mode)


@contextmanager
def _page_transaction() -> Iterator[None]:
    """One page's transaction, committed without waiting for the disk flush (a page lost to a
    crash is read again by the next run; its effects share it). `SET LOCAL`: nothing is left
    on the server connection for its next user behind a transaction pooler."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
        yield


def after_import(owner_id: int, mode: str) -> None:
    """Recompute the owner's forecasts (one history query) and, after a regular import, open
    the early restock tasks they call for. Never fails the import that already succeeded: the
    next import recomputes. Safe to re-run."""
    try:
        refresh_forecasts(owner_id)
        if mode == ImportMode.REGULAR:
            open_early_restock_tasks(owner_id)
    except Exception:
        logger.exception("forecast refresh after the import of owner %s failed", owner_id)


RUN_COUNTERS = (
    "pages_done",
    "fetched",
    "invalid",
    "inserted",
    "updated",
    "deducted",
    "needs_recipe",
    "unknown_terminal",
    "restored",
    "tasks_created",
)


def _count(run: ImportRun, result: PageResult) -> None:
    run.pages_done += 1
    if result.items_count and result.items_per_page:
        run.pages_total = -(-result.items_count // result.items_per_page)
    for name in RUN_COUNTERS[1:]:
        setattr(run, name, getattr(run, name) + getattr(result, name))
    run.heartbeat_at = timezone.now()


def _save_progress(run: ImportRun, token: int) -> None:
    """Store the counts (and the page to resume at), fenced: raises LeaseLost, rolling the
    page's transaction back, once this attempt no longer holds the run."""
    # Once per page: plain SQL, without the ORM's per-query cost.
    assignments = ", ".join(f"{name} = %s" for name in RUN_COUNTERS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE vendista_importrun SET {assignments}, pages_total = %s, error = %s, "  # noqa: S608 - column names are constants
            "next_page = %s, heartbeat_at = now() "
            "WHERE id = %s AND lease_token = %s AND status = 'running'",
            [
                *(getattr(run, name) for name in RUN_COUNTERS),
                run.pages_total,
                run.error,
                run.next_page,
                run.pk,
                token,
            ],
        )
        if cursor.rowcount != 1:
            raise LeaseLost(f"run {run.pk} was cancelled or taken over")


def _sync(run: ImportRun, client: VendistaClient, token: int) -> None:
    counts = sync.sync_terminals_with(run.owner_id, client)
    ImportRun.objects.filter(pk=run.pk, lease_token=token).update(
        fetched=counts["listed"],
        inserted=counts["created"],
        updated=counts["updated"],
        deducted=counts["deducted"],
        tasks_created=counts["tasks_created"],
    )
    _finish(run, RunStatus.SUCCEEDED, token=token)


# --- entry points for tasks, commands and the admin ------------------------------------------


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
        window = owner_window(owner_id, window_kind or "last_24h")
    with transaction.atomic():
        run = create_run(
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
        enqueue_on_commit(
            "vendista.tasks.execute_run",
            run_id=run.pk,
            priority=SCHEDULED_PRIORITY if trigger.startswith("schedule") else None,
        )
    return run.pk


def run_now(
    owner_id: int,
    *,
    window: tuple[datetime, datetime],
    mode: str = ImportMode.REGULAR,
    trigger: str = "command",
    requested_by: Any = None,
    progress: ProgressCallback | None = None,
) -> RunSummary:
    """Create a run and execute it in this process (the operator command). A run that cannot
    finish here is left failed (with the reason), never queued without a task behind it; one
    whose process is killed stops heartbeating and is resumed by the sweep."""
    run = create_run(
        owner_id,
        mode=mode,
        window=window,
        trigger=trigger,
        requested_by=requested_by,
        skip_if_active=False,
    )
    if run is None:
        raise OwnerBusy(f"an active run of owner {owner_id} already covers this window")
    started = time.monotonic()
    try:
        summary = execute_run(run.pk, progress=progress)
    except (OwnerBusy, VendistaUnavailable, KeyboardInterrupt) as exc:
        _finish(run, RunStatus.FAILED, f"{type(exc).__name__}: {exc}"[:2000])
        raise
    summary.duration_s = summary.duration_s or time.monotonic() - started
    return summary


def purge_old_runs() -> int:
    """Delete finished runs older than their retention (`IMPORT_RUN_RETENTION_DAYS`); returns
    how many. Safe to re-run."""
    before = timezone.now() - timedelta(days=settings.IMPORT_RUN_RETENTION_DAYS)
    deleted, _ = ImportRun.objects.filter(
        finished_at__lt=before,
        status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SKIPPED, RunStatus.CANCELLED],
    ).delete()
    return deleted
