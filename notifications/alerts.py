"""Admin alerts: failures of background work are de-duplicated, grouped and capped.

Every alert is an `AdminAlert` row written in the transaction that records the failure (PostgreSQL
is the source of truth; an outage of Redis or a dead worker delays an alert, never loses it).

- De-duplication: the same (context, owner, first 50 characters of the error) within
  `ADMIN_ALERT_DEDUP_SECONDS` (5 minutes) is dropped — checked under a transaction-scoped advisory
  lock on the fingerprint, so two workers racing record it once.
- Grouping: alerts wait as rows and are flushed `ADMIN_ALERT_FLUSH_SECONDS` after the first (at
  once when 5 are waiting) by a queued flush, or by the minute sweep when that message was lost;
  on flush they are grouped by context (owner and terminal numbers normalised) and the first 100
  characters of the error: one message per group, its delivery row written in the transaction
  that marks the alerts flushed.
- Cap: at most `ADMIN_ALERTS_PER_HOUR` messages per Moscow clock hour (counted from the delivery
  log); extra groups are marked `capped` with a log line.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.clock import as_moscow
from core.jobs import enqueue_on_commit
from notifications.models import AdminAlert, Delivery
from notifications.services import notify_admin_chat
from tenancy.models import Owner

logger = logging.getLogger("notifications.alerts")

_FLUSH_SOON_AT = 5
_FLUSH_TASK = "notifications.tasks.flush_admin_alerts"
_TEMPLATE = "admin_error"
_NUMBERS = re.compile(r"\b(user|owner|terminal|run)\s*#?\d+", re.IGNORECASE)


def _moscow(moment: datetime) -> str:
    return as_moscow(moment).strftime("%d.%m.%Y %H:%M:%S")


def record_failure(*, owner_id: int | None, context: str, error: str) -> bool:
    """Record one failure of background work for the operators (`context` names what failed),
    in the caller's transaction; False when it is a duplicate of a recent one."""
    fingerprint = hashlib.sha256(f"{context}|{owner_id}|{error[:50]}".encode()).hexdigest()[:32]
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"alert:{fingerprint}"])
        recent = now - timedelta(seconds=settings.ADMIN_ALERT_DEDUP_SECONDS)
        if AdminAlert.objects.filter(fingerprint=fingerprint, created_at__gt=recent).exists():
            logger.info("admin alert de-duplicated: %s owner=%s", context, owner_id)
            return False
        if owner_id is not None and not Owner.objects.filter(pk=owner_id).exists():
            owner_id = None
        AdminAlert.objects.create(
            owner_id=owner_id,
            context=context[:200],
            error=error[:3000],
            fingerprint=fingerprint,
            created_at=now,
        )
        waiting = AdminAlert.objects.filter(flushed_at__isnull=True).count()
        # The fast path; when its message is lost, the minute sweep flushes instead.
        if waiting >= _FLUSH_SOON_AT:
            enqueue_on_commit(_FLUSH_TASK, countdown=1)
        elif waiting == 1:
            enqueue_on_commit(_FLUSH_TASK, countdown=settings.ADMIN_ALERT_FLUSH_SECONDS)
    return True


def group_key(context: str, error: str) -> str:
    return f"{_NUMBERS.sub(lambda m: m.group(1) + ' <n>', context)}|{error[:100]}"


def flush_due(now: datetime | None = None) -> int:
    """The sweep's flush: only when the oldest waiting alert has waited its grouping time, or
    enough are waiting. Returns how many admin messages it queued. Safe to re-run."""
    now = now or timezone.now()
    waiting = AdminAlert.objects.filter(flushed_at__isnull=True)
    oldest = waiting.order_by("created_at").values_list("created_at", flat=True).first()
    if oldest is None:
        return 0
    grouped_by = now - timedelta(seconds=settings.ADMIN_ALERT_FLUSH_SECONDS)
    if oldest > grouped_by and waiting.count() < _FLUSH_SOON_AT:
        return 0
    return len(flush(now))


def _sent_this_hour(now: datetime) -> int:
    local = as_moscow(now)
    start = local.replace(minute=0, second=0, microsecond=0)
    return Delivery.objects.filter(
        template=_TEMPLATE,
        chunk_index=0,
        created_at__gte=start,
        created_at__lt=start + timedelta(hours=1),
    ).count()


def flush(now: datetime | None = None) -> list[Delivery]:
    """Turn the waiting alerts into one admin message per group, within the hourly cap.
    Safe to run concurrently: each alert row is taken (locked, marked) by exactly one flush."""
    now = now or timezone.now()
    rows: list[Delivery] = []
    with transaction.atomic():
        waiting = list(
            AdminAlert.objects.select_for_update(skip_locked=True)
            .filter(flushed_at__isnull=True)
            .order_by("created_at", "id")
        )
        if not waiting:
            return []
        groups: dict[str, list[AdminAlert]] = defaultdict(list)
        for alert in waiting:
            groups[group_key(alert.context, alert.error)].append(alert)
        names = dict(
            Owner.objects.filter(
                pk__in={a.owner_id for a in waiting if a.owner_id is not None}
            ).values_list("pk", "name")
        )
        sent = _sent_this_hour(now)
        for entries in groups.values():
            ids = [alert.pk for alert in entries]
            if sent >= settings.ADMIN_ALERTS_PER_HOUR:
                logger.warning(
                    "admin alert cap (%s/h) reached; dropped: %s",
                    settings.ADMIN_ALERTS_PER_HOUR,
                    entries[0].context,
                )
                AdminAlert.objects.filter(pk__in=ids).update(flushed_at=now, outcome="capped")
                continue
            owners = list(dict.fromkeys(alert.owner_id for alert in entries))
            times = sorted(alert.created_at for alert in entries)
            queued = notify_admin_chat(
                template=_TEMPLATE,
                context={
                    "count": len(entries),
                    "time": _moscow(now),
                    "context": entries[0].context,
                    "owners": ", ".join(
                        f"{names.get(o, '?')} (ID: {o})" if o else "—" for o in owners
                    ),
                    "first_at": _moscow(times[0]),
                    "last_at": _moscow(times[-1]),
                    "error": entries[0].error,
                },
            )
            rows += queued
            sent += 1 if queued else 0
            AdminAlert.objects.filter(pk__in=ids).update(
                flushed_at=now, outcome="queued" if queued else "no_chat"
            )
    return rows
