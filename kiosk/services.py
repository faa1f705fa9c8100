"""Session lifecycle: create, touch, complete, expire. Terminal states are final."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import SYSTEM, Actor
from core.db.insert import insert_together
from kiosk import metrics
from kiosk.models import Kiosk, Session, SessionStatus

log = logging.getLogger(__name__)


# What else ends with a session, registered by the apps built on kiosks (payments cancels the
# session's unpaid intents). Each handler runs inside the expiry's transaction.
ExpiryHandler = Callable[[Session], None]
_on_expired: list[ExpiryHandler] = []


def on_session_expired(handler: ExpiryHandler) -> None:
    """Have `handler(session)` called in the transaction that expires a session. Call it from
    an AppConfig.ready(); registering the same handler twice keeps one."""
    if handler not in _on_expired:
        _on_expired.append(handler)


class SessionConflict(Exception):
    """The session is in a terminal state and cannot take this change (HTTP 409)."""

    def __init__(self, session: Session, action: str) -> None:
        super().__init__(f"session {session.pk} is {session.status}: cannot {action}")
        self.session = session


_gauge_refreshed_at = 0.0


def refresh_active_gauge(*, at_most_every_s: float = 0.0) -> None:
    """Count the active sessions into the gauge; with `at_most_every_s`, skip the count when
    this process did one that recently (a session create must stay one insert, not a scan)."""
    global _gauge_refreshed_at
    now = time.monotonic()
    if at_most_every_s and now - _gauge_refreshed_at < at_most_every_s:
        return
    _gauge_refreshed_at = now
    metrics.SESSIONS_ACTIVE.set(Session.objects.filter(status=SessionStatus.ACTIVE).count())


def create_session(
    *,
    kiosk: Kiosk,
    type: str,
    contact_email: str = "",
    contact_phone: str = "",
    metadata: dict[str, Any] | None = None,
    ttl_ms: int | None = None,
    actor: Actor = SYSTEM,
) -> Session:
    """Start a client's session on `kiosk`; it expires after `ttl_ms` without activity."""
    ttl_ms = ttl_ms or settings.KIOSK_SESSION_TTL_MS
    now = timezone.now()
    session = Session(
        kiosk=kiosk,
        type=type,
        contact_email=contact_email,
        contact_phone=contact_phone,
        metadata=metadata or {},
        ttl_ms=ttl_ms,
        expires_at=now + timedelta(milliseconds=ttl_ms),
    )
    created = actor.entry(
        "session.created",
        owner_id=kiosk.owner_id,
        obj=session,
        summary={"type": type, "email": contact_email, "phone": contact_phone},
    )
    insert_together(session, created)  # one statement: the session and its audit row, or neither
    metrics.SESSIONS_CREATED.labels(type=type).inc()
    refresh_active_gauge(at_most_every_s=10.0)  # a count; off the hot path (scrapes: 15 s)
    log.info(
        "session %s created on kiosk %s for %s %s",
        session.pk,
        kiosk.pk,
        contact_email,
        contact_phone,
    )
    return session


def _expire_if_due(session_id: Any, now: datetime) -> None:
    """A session past its expiry but not yet swept by beat is expired now, in its own
    transaction, so the caller's 409 leaves it (and its cancelled intents) recorded."""
    with transaction.atomic():
        session = (
            Session.objects.select_for_update()
            .select_related("kiosk")
            .filter(pk=session_id, status=SessionStatus.ACTIVE, expires_at__lte=now)
            .first()
        )
        if session is not None:
            _mark_expired(session, now)


def _lock_active(session_id: Any, action: str) -> Session:
    session = Session.objects.select_for_update().select_related("kiosk").get(pk=session_id)
    if session.is_terminal():
        raise SessionConflict(session, action)
    return session


def update_session(session_id: Any, *, changes: dict[str, Any], actor: Actor = SYSTEM) -> Session:
    """Change contact/metadata and push the expiry (activity). 409 when terminal."""
    now = timezone.now()
    _expire_if_due(session_id, now)
    with transaction.atomic():
        session = _lock_active(session_id, "update")
        for field in ("contact_email", "contact_phone", "metadata"):
            if field in changes:
                setattr(session, field, changes[field])
        if changes.get("ttl_ms"):
            session.ttl_ms = changes["ttl_ms"]
        # Never earlier than before: a paid session is kept until its service deadline.
        session.expires_at = max(session.expires_at, now + timedelta(milliseconds=session.ttl_ms))
        session.save()
    return session


def complete_session(session_id: Any, *, actor: Actor = SYSTEM) -> Session:
    """Finish an active session. Completing a completed or expired one is a `SessionConflict`."""
    now = timezone.now()
    _expire_if_due(session_id, now)
    with transaction.atomic():
        session = _lock_active(session_id, "complete")
        session.status = SessionStatus.COMPLETED
        session.completed_at = now
        session.save(update_fields=["status", "completed_at", "updated_at"])
        actor.audit(
            "session.completed",
            owner_id=session.kiosk.owner_id,
            obj=session,
            summary={"type": session.type},
        )
    metrics.SESSIONS_COMPLETED.labels(type=session.type).inc()
    metrics.SESSION_DURATION.labels(outcome="completed").observe(
        (now - session.created_at).total_seconds()
    )
    refresh_active_gauge()
    return session


def _mark_expired(session: Session, now: datetime) -> None:
    session.status = SessionStatus.EXPIRED
    session.expired_at = now
    session.save(update_fields=["status", "expired_at", "updated_at"])
    SYSTEM.audit(
        "session.expired",
        owner_id=session.kiosk.owner_id,
        obj=session,
        summary={"type": session.type},
    )
    for handler in _on_expired:
        handler(session)
    duration = (now - session.created_at).total_seconds()
    session_type = session.type

    def count() -> None:
        metrics.SESSIONS_EXPIRED.labels(type=session_type).inc()
        metrics.SESSION_DURATION.labels(outcome="expired").observe(duration)

    transaction.on_commit(count)


def expire_sessions(now: datetime | None = None, batch: int = 200) -> int:
    """Mark active sessions past their expiry as expired and cancel their unpaid intents.
    Safe to re-run and to run concurrently (rows are locked and skipped when taken)."""
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            sessions = list(
                Session.objects.select_for_update(skip_locked=True)
                .select_related("kiosk")
                .filter(status=SessionStatus.ACTIVE, expires_at__lte=now)[:batch]
            )
            for session in sessions:
                _mark_expired(session, now)
        expired += len(sessions)
        if len(sessions) < batch:
            break
    refresh_active_gauge()
    return expired
