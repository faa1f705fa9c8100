"""Vendista work per owner: terminal sync, transaction import runs, token refresh and the
payment-status (402) flow. Views, admin actions, commands and Celery tasks call these."""

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
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from audit.services import record as audit
from config.redis import get_redis
from inventory.services import (
    create_default_containers,
    load_recipes,
    recipe_ingredients_by_terminal,
)
from notifications import events
from vendista import crypto
from vendista.client import (
    MOSCOW,
    Pager,
    RawPage,
    VendistaClient,
    VendistaInvalidCredentials,
    VendistaPaymentRequired,
    VendistaTerminal,
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
    Terminal,
    TokenStatus,
    VendistaAccount,
)
from vendista.pipeline import (
    ImportContext,
    PageResult,
    process_page,
    resolve_unknown_terminal_sales,
)

logger = logging.getLogger(__name__)


class OwnerBusy(Exception):
    """Another run of this owner holds the owner's lock."""


class RunNotRunnable(Exception):
    """The run is finished or unknown."""


# --- windows ---------------------------------------------------------------------------------


def window_for(
    kind: str, *, now: datetime | None = None, setup: date | None = None
) -> tuple[datetime, datetime]:
    """The import window of a schedule: `last_24h`, `previous_day_and_today`, `last_7_days` or
    `history` (from the owner's setup date)."""
    now = now or timezone.now()
    local = now.astimezone(MOSCOW)
    if kind == "last_24h":
        return now - timedelta(hours=24), now
    if kind == "previous_day_and_today":
        start = datetime.combine(local.date() - timedelta(days=1), datetime.min.time(), MOSCOW)
        return start, now
    if kind == "last_7_days":
        return now - timedelta(days=7), now
    if kind == "history":
        first = setup or (local.date() - timedelta(days=365))
        return datetime.combine(first, datetime.min.time(), MOSCOW), now
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


# --- clients and credentials -----------------------------------------------------------------


def make_client(account: VendistaAccount, **overrides: Any) -> VendistaClient:
    """A client for the owner that refreshes its token with the stored credentials (the caller
    stores a refreshed token: `save_token`). Undecryptable credentials → invalid_creds."""
    try:
        credentials = (
            crypto.decrypt(account.login_encrypted),
            crypto.decrypt(account.password_encrypted),
        )
    except crypto.DecryptionError as exc:
        _mark_invalid_credentials(account.owner_id, "stored credentials cannot be decrypted")
        raise VendistaInvalidCredentials("stored credentials cannot be decrypted") from exc
    options: dict[str, Any] = {
        "base_url": settings.VENDISTA_API_URL,
        "token": _decrypt_or_empty(account.token_encrypted),
        "rate_key": str(account.owner_id),
        "credentials": credentials if all(credentials) else None,
        "rate_per_token": settings.VENDISTA_RATE_PER_TOKEN,
        "rate_global": settings.VENDISTA_RATE_GLOBAL,
        "timeout": settings.VENDISTA_TIMEOUT,
        "max_attempts": settings.VENDISTA_MAX_ATTEMPTS,
        "backoff_base": settings.VENDISTA_BACKOFF_BASE,
        "page_size": settings.VENDISTA_PAGE_SIZE,
    }
    options.update(overrides)
    return VendistaClient(**options)


def _decrypt_or_empty(value: str) -> str:
    try:
        return crypto.decrypt(value)
    except crypto.DecryptionError:
        logger.error("a stored Vendista token cannot be decrypted; a new one will be requested")
        return ""


def set_credentials(account: VendistaAccount, login: str, password: str, token: str = "") -> None:
    """Store credentials (and a token) encrypted; the token is marked valid."""
    account.login_encrypted = crypto.encrypt(login)
    account.password_encrypted = crypto.encrypt(password)
    account.token_encrypted = crypto.encrypt(token)
    account.token_status = TokenStatus.VALID
    account.save()


def save_token(owner_id: int, client: VendistaClient, stored: str) -> str:
    """Store the client's token if it was refreshed since `stored`; returns the current one."""
    if client.token and client.token != stored:
        VendistaAccount.objects.filter(owner_id=owner_id).update(
            token_encrypted=crypto.encrypt(client.token),
            token_status=TokenStatus.VALID,
            updated_at=timezone.now(),
        )
        logger.info("vendista token refreshed for owner %s", owner_id)
    return client.token


def _mark_invalid_credentials(owner_id: int, reason: str) -> None:
    with transaction.atomic():
        changed = (
            VendistaAccount.objects.filter(owner_id=owner_id)
            .exclude(token_status=TokenStatus.INVALID_CREDS)
            .update(token_status=TokenStatus.INVALID_CREDS, updated_at=timezone.now())
        )
        if changed:
            transaction.on_commit(
                partial(
                    events.import_failed,
                    owner_id=owner_id,
                    context="vendista.credentials",
                    error=reason,
                )
            )


def mark_payment_required(owner_id: int, *, source: str, error: str) -> bool:
    """Vendista answered 402: suspend the owner. Exactly one caller — the one whose conditional
    UPDATE changed the row — tells the admin. Returns whether this call made the change."""
    with transaction.atomic():
        changed = VendistaAccount.objects.filter(
            owner_id=owner_id, payment_status=PaymentStatus.ACTIVE
        ).update(
            payment_status=PaymentStatus.PAYMENT_REQUIRED,
            payment_required_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if changed:
            audit(
                "vendista.payment_required",
                owner_id=owner_id,
                object_type="vendista.vendistaaccount",
                object_id=owner_id,
                summary={"source": source, "error": error[:200]},
            )
            transaction.on_commit(
                partial(events.payment_required, owner_id=owner_id, source=source, error=error)
            )
    if not changed:
        logger.info("vendista 402 for owner %s again (already suspended)", owner_id)
    return bool(changed)


def reactivate(
    owner_id: int,
    *,
    token: str | None = None,
    actor: Any = None,
    request: Any = None,
    reason: str = "check",
) -> bool:
    """Back to `active` (from the 04:00 check with a fresh token, or a staff reset)."""
    updates: dict[str, Any] = {
        "payment_status": PaymentStatus.ACTIVE,
        "payment_required_at": None,
        "updated_at": timezone.now(),
    }
    if token is not None:
        updates["token_encrypted"] = crypto.encrypt(token)
        updates["token_status"] = TokenStatus.VALID
    with transaction.atomic():
        changed = VendistaAccount.objects.filter(
            owner_id=owner_id, payment_status=PaymentStatus.PAYMENT_REQUIRED
        ).update(**updates)
        audit(
            "vendista.payment_status_reset" if reason == "staff" else "vendista.reactivated",
            actor_user=actor,
            owner_id=owner_id,
            object_type="vendista.vendistaaccount",
            object_id=owner_id,
            summary={"changed": bool(changed), "reason": reason},
            request=request,
        )
        if changed:
            transaction.on_commit(partial(events.owner_reactivated, owner_id=owner_id))
    return bool(changed)


def check_payment_status(owner_id: int) -> bool:
    """The 04:00 check for one suspended owner: a new token AND a cheap data call must both
    succeed to reactivate. Returns whether the owner was reactivated. Safe to re-run."""
    account = VendistaAccount.objects.get(owner_id=owner_id)
    if account.payment_status != PaymentStatus.PAYMENT_REQUIRED:
        return False
    try:
        client = make_client(account, token="")
    except VendistaInvalidCredentials:
        logger.error("payment check: owner %s credentials cannot be decrypted", owner_id)
        return False
    try:
        client.refresh()
        client.get_terminals()
    except VendistaPaymentRequired:
        logger.info("payment check: owner %s still unpaid", owner_id)
        return False
    except VendistaInvalidCredentials:
        _mark_invalid_credentials(owner_id, "payment check: Vendista refused the credentials")
        return False
    except (VendistaUnavailable, VendistaUnauthorized) as exc:
        logger.warning("payment check: owner %s inconclusive: %s", owner_id, exc)
        return False
    finally:
        client.close()
    return reactivate(owner_id, token=client.token, reason="check")


# --- the owner lock --------------------------------------------------------------------------


@contextmanager
def owner_lock(owner_id: int, holder: str) -> Iterator[Callable[[], None]]:
    """Hold the owner's Redis lock for `holder` (a run id); yields a function that extends it.

    The lock expires `VENDISTA_LOCK_TTL` seconds after the last extension, so a killed worker
    frees it. A redelivered task of the same run takes its own lock over at once.
    """
    client = get_redis()
    key = f"vk:lock:vendista-owner:{owner_id}"
    ttl = settings.VENDISTA_LOCK_TTL
    if not client.set(key, holder, nx=True, ex=ttl):
        current = client.get(key)
        current_holder = current.decode() if isinstance(current, bytes) else current
        if current_holder != holder:
            raise OwnerBusy(f"owner {owner_id} is busy with {current_holder}")
        client.expire(key, ttl)

    extended_at = time.monotonic()

    def extend() -> None:
        # Called after every page; Redis is asked only when a quarter of the TTL has passed.
        nonlocal extended_at
        if time.monotonic() - extended_at >= ttl / 4:
            client.expire(key, ttl)
            extended_at = time.monotonic()

    try:
        yield extend
    finally:
        # Release only our own lock (compare-and-delete).
        client.eval(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) "
            "end return 0",
            1,
            key,
            holder,
        )


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
    same kind queued or running (and not stale) does nothing; other triggers skip only when an
    active run already covers their window. Stale runs are marked abandoned first."""
    now = timezone.now()
    with transaction.atomic():
        VendistaAccount.objects.select_for_update().filter(owner_id=owner_id).first()
        stale_before = now - timedelta(seconds=settings.VENDISTA_RUN_STALE_AFTER)
        active = ImportRun.objects.filter(
            owner_id=owner_id, kind=kind, status__in=ACTIVE_RUN_STATUSES
        )
        for run in active:
            last = run.heartbeat_at or run.created_at
            if last < stale_before:
                run.status = RunStatus.FAILED
                run.error = "abandoned: no progress"
                run.finished_at = now
                run.save(update_fields=["status", "error", "finished_at"])
        active = active.filter(status__in=ACTIVE_RUN_STATUSES)
        if skip_if_active and active.exists():
            return None
        if window is not None:
            for run in active:
                if (
                    run.mode == mode
                    and run.date_from is not None
                    and run.date_to is not None
                    and run.date_from <= window[0]
                    and run.date_to >= window[1]
                ):
                    return None
        return ImportRun.objects.create(
            owner_id=owner_id,
            kind=kind,
            mode=mode,
            trigger=trigger,
            requested_by=requested_by if getattr(requested_by, "pk", None) else None,
            date_from=window[0] if window else None,
            date_to=window[1] if window else None,
        )


def _start(run: ImportRun) -> None:
    now = timezone.now()
    ImportRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        started_at=run.started_at or now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
    )
    run.refresh_from_db()


def _finish(run: ImportRun, status: str, error: str = "") -> None:
    ImportRun.objects.filter(pk=run.pk).update(
        status=status, error=error[:2000], finished_at=timezone.now(), heartbeat_at=timezone.now()
    )
    run.refresh_from_db()


def _skip_reason(account: VendistaAccount | None) -> str | None:
    if account is None:
        return "owner has no Vendista connection"
    if account.payment_status != PaymentStatus.ACTIVE:
        return "skipped: Vendista payment required"
    if account.token_status == TokenStatus.INVALID_CREDS:
        return "skipped: invalid Vendista credentials"
    if not (account.token_encrypted or account.login_encrypted):
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


def execute_run(run_id: int, *, progress: ProgressCallback | None = None) -> RunSummary:
    """Run a queued (or interrupted) import or sync run to its end. Safe to re-run: a run that
    was interrupted starts its window again; rows already stored are only updated, never
    deducted twice. Raises OwnerBusy (retry later) and VendistaUnavailable (transient)."""
    run = ImportRun.objects.filter(pk=run_id).first()
    if run is None or run.status not in ACTIVE_RUN_STATUSES:
        raise RunNotRunnable(f"run {run_id} is not queued or running")
    account = VendistaAccount.objects.filter(owner_id=run.owner_id).first()
    reason = _skip_reason(account)
    if reason is not None:
        _finish(run, RunStatus.SKIPPED, reason)
        return RunSummary.of(run)
    assert account is not None
    with owner_lock(run.owner_id, f"run:{run.pk}") as extend_lock:
        _start(run)
        client: VendistaClient | None = None
        stored_token = _decrypt_or_empty(account.token_encrypted)
        try:
            client = make_client(account)
            try:
                if run.kind == RunKind.SYNC:
                    _sync(run, client)
                else:
                    _import(run, client, extend_lock, progress)
            finally:
                # A token refreshed on the way is kept, whatever happened next.
                save_token(run.owner_id, client, stored_token)
        except VendistaPaymentRequired as exc:
            source = "sync" if run.kind == RunKind.SYNC else "import"
            mark_payment_required(run.owner_id, source=source, error=str(exc))
            _finish(run, RunStatus.FAILED, "Vendista payment required (HTTP 402)")
        except VendistaInvalidCredentials as exc:
            _mark_invalid_credentials(run.owner_id, str(exc))
            _finish(run, RunStatus.FAILED, f"invalid Vendista credentials: {exc}")
        except VendistaUnauthorized as exc:
            VendistaAccount.objects.filter(owner_id=run.owner_id).update(
                token_status=TokenStatus.EXPIRED
            )
            _finish(run, RunStatus.FAILED, f"token refused after a refresh: {exc}")
            events.import_failed(owner_id=run.owner_id, context="vendista.token", error=str(exc))
        except VendistaUnavailable as exc:
            # Transient: the run goes back to the queue; the task decides whether to retry.
            ImportRun.objects.filter(pk=run.pk).update(
                status=RunStatus.QUEUED, error=f"transient: {exc}"[:2000]
            )
            raise
        except Exception as exc:
            _finish(run, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
            events.import_failed(
                owner_id=run.owner_id, context=f"vendista.{run.kind}", error=str(exc)
            )
            raise
        finally:
            if client is not None:
                client.close()
    run.refresh_from_db()
    return RunSummary.of(run)


def fail_run(run_id: int, error: str) -> None:
    """Give up on a run (transient errors outlasted the retries)."""
    run = ImportRun.objects.get(pk=run_id)
    _finish(run, RunStatus.FAILED, error)
    events.import_failed(owner_id=run.owner_id, context=f"vendista.{run.kind}", error=error)


def _import(
    run: ImportRun,
    client: VendistaClient,
    extend_lock: Callable[[], None],
    progress: ProgressCallback | None,
) -> None:
    assert run.date_from is not None and run.date_to is not None
    # A restarted run starts its window again, with this attempt's counters.
    for name in RUN_COUNTERS:
        setattr(run, name, 0)
    run.pages_total = None
    run.error = ""
    _save_progress(run)
    ctx = _context(run.owner_id, run.mode)
    pager = Pager(client.page_size)
    synced = False
    fetch = partial(client.get_transactions_page, run.date_from, run.date_to)
    # A page lost to a database crash after its commit is read again by the next run (windows
    # overlap) and its effects share its transaction, so page commits need not wait for the
    # disk flush.
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    # The next page is fetched while this one is written, once the answers promise it.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vendista-fetch") as fetcher:
        try:
            pending: Future[RawPage] | None = fetcher.submit(fetch, 1)
            while pending is not None:
                page = pending.result()
                ahead = pager.page + 1
                pending = fetcher.submit(fetch, ahead) if pager.expects(ahead) else None
                try:
                    with transaction.atomic():
                        result = process_page(ctx, page)
                        _count(run, result)
                        _save_progress(run)
                except psycopg.errors.DataError:
                    # A value of an unexpected type: read this page the careful way.
                    with transaction.atomic():
                        result = process_page(ctx, page, robust=True)
                        _count(run, result)
                        _save_progress(run)
                if result.unknown_terminal and not synced:
                    # Sales of terminals we do not know yet: sync once; the sync deducts them.
                    synced = True
                    resolved = _sync_for_import(run.owner_id)
                    run.deducted += resolved["deducted"]
                    run.tasks_created += resolved["tasks_created"]
                    run.unknown_terminal = max(0, run.unknown_terminal - resolved["resolved"])
                    _save_progress(run)
                    ctx = _context(run.owner_id, run.mode)
                extend_lock()
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
                if pending is None:
                    pending = fetcher.submit(fetch, pager.page)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
    _finish(run, RunStatus.SUCCEEDED)
    VendistaAccount.objects.filter(owner_id=run.owner_id).update(
        last_successful_import_at=timezone.now()
    )


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


def _save_progress(run: ImportRun) -> None:
    # Once per page: plain SQL, without the ORM's per-query cost.
    assignments = ", ".join(f"{name} = %s" for name in RUN_COUNTERS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE vendista_importrun SET {assignments}, pages_total = %s, error = %s, "  # noqa: S608 - column names are constants
            "heartbeat_at = now() WHERE id = %s",
            [*(getattr(run, name) for name in RUN_COUNTERS), run.pages_total, run.error, run.pk],
        )


def _sync_for_import(owner_id: int) -> dict[str, int]:
    account = VendistaAccount.objects.get(owner_id=owner_id)
    client = make_client(account)
    try:
        return sync_terminals_with(owner_id, client)
    finally:
        save_token(owner_id, client, _decrypt_or_empty(account.token_encrypted))
        client.close()


def _terminal_map(owner_id: int) -> dict[int, int]:
    return dict(Terminal.objects.filter(owner_id=owner_id).values_list("vendista_id", "id"))


def _context(owner_id: int, mode: str) -> ImportContext:
    recipes = load_recipes(owner_id)
    return ImportContext(
        owner_id=owner_id,
        mode=mode,
        terminals=_terminal_map(owner_id),
        recipes=recipes,
        recipe_items=recipe_ingredients_by_terminal(recipes),
    )


# --- terminal sync ---------------------------------------------------------------------------


def _sync(run: ImportRun, client: VendistaClient) -> None:
    counts = sync_terminals_with(run.owner_id, client)
    ImportRun.objects.filter(pk=run.pk).update(
        fetched=counts["listed"],
        inserted=counts["created"],
        updated=counts["updated"],
        deducted=counts["deducted"],
        tasks_created=counts["tasks_created"],
    )
    _finish(run, RunStatus.SUCCEEDED)


def sync_terminals_with(owner_id: int, client: VendistaClient) -> dict[str, int]:
    """Fetch the owner's terminals and store them: new ones get the default machine containers,
    missing ones are deactivated (never all at once on an empty answer), a successful call sets
    the payment status back to active, and sales kept for unknown terminals are now deducted.
    Safe to re-run."""
    listed = client.get_terminals()
    return store_terminals(owner_id, listed)


def store_terminals(owner_id: int, listed: list[VendistaTerminal]) -> dict[str, int]:
    now = timezone.now()
    counts = {
        "listed": len(listed),
        "created": 0,
        "updated": 0,
        "deactivated": 0,
        "deducted": 0,
        "tasks_created": 0,
    }
    with transaction.atomic():
        existing = {
            t.vendista_id: t for t in Terminal.objects.select_for_update().filter(owner_id=owner_id)
        }
        new_ids: list[int] = []
        for item in listed:
            terminal = existing.get(item.id)
            if terminal is None:
                terminal = Terminal.objects.create(
                    owner_id=owner_id,
                    vendista_id=item.id,
                    name=item.comment,
                    serial_number=item.serial_number,
                    last_online_time=item.last_online_time,
                    is_online=item.is_online,
                    is_active=True,
                    last_synced_at=now,
                )
                new_ids.append(terminal.pk)
                counts["created"] += 1
            else:
                terminal.name = item.comment or terminal.name
                terminal.serial_number = item.serial_number
                terminal.last_online_time = item.last_online_time
                terminal.is_online = item.is_online
                terminal.is_active = True
                terminal.last_synced_at = now
                terminal.save()
                counts["updated"] += 1
        listed_ids = {item.id for item in listed}
        if listed:
            counts["deactivated"] = (
                Terminal.objects.filter(owner_id=owner_id, is_active=True)
                .exclude(vendista_id__in=listed_ids)
                .update(is_active=False, is_online=False, updated_at=now)
            )
        elif existing:
            logger.warning(
                "vendista listed no terminals for owner %s; keeping %s active terminals",
                owner_id,
                len(existing),
            )
        create_default_containers(owner_id, new_ids)
        VendistaAccount.objects.filter(owner_id=owner_id).update(last_terminal_sync_at=now)
        was_suspended = VendistaAccount.objects.filter(
            owner_id=owner_id, payment_status=PaymentStatus.PAYMENT_REQUIRED
        ).exists()
    if was_suspended:
        reactivate(owner_id, reason="sync")
    with transaction.atomic():
        resolved = resolve_unknown_terminal_sales(_context(owner_id, ImportMode.REGULAR))
    counts["deducted"] = resolved.deducted
    counts["resolved"] = resolved.resolved
    counts["tasks_created"] = resolved.tasks_created
    return counts


# --- entry points for tasks, commands and the admin ------------------------------------------


def run_now(
    owner_id: int,
    *,
    window: tuple[datetime, datetime],
    mode: str = ImportMode.REGULAR,
    trigger: str = "command",
    requested_by: Any = None,
    progress: ProgressCallback | None = None,
) -> RunSummary:
    """Create a run and execute it in this process (the operator command)."""
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
    summary = execute_run(run.pk, progress=progress)
    summary.duration_s = summary.duration_s or time.monotonic() - started
    return summary


def importable_owner_ids() -> list[int]:
    """Owners the schedules import: connected, paid, with credentials that work. A connection
    saved with finance settings only (no credentials yet) is not imported."""
    return list(
        VendistaAccount.objects.filter(imports_enabled=True, payment_status=PaymentStatus.ACTIVE)
        .exclude(token_status=TokenStatus.INVALID_CREDS)
        .exclude(login_encrypted="", token_encrypted="")
        .values_list("owner_id", flat=True)
    )


def suspended_owner_ids() -> list[int]:
    return list(
        VendistaAccount.objects.filter(payment_status=PaymentStatus.PAYMENT_REQUIRED).values_list(
            "owner_id", flat=True
        )
    )


def record_skips(trigger: str) -> int:
    """Scheduled runs record why suspended owners were skipped (one row per owner and tick)."""
    skipped = 0
    for account in VendistaAccount.objects.filter(imports_enabled=True).exclude(
        payment_status=PaymentStatus.ACTIVE,
        token_status__in=[TokenStatus.VALID, TokenStatus.EXPIRED],
    ):
        reason = _skip_reason(account)
        if reason:
            now = timezone.now()
            ImportRun.objects.create(
                owner_id=account.owner_id,
                kind=RunKind.IMPORT,
                trigger=trigger,
                status=RunStatus.SKIPPED,
                error=reason,
                finished_at=now,
            )
            skipped += 1
    return skipped
