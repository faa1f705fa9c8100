"""Admin alerts: failures of background work are de-duplicated, grouped and capped.

- De-duplication: the same (context, owner, first 50 characters of the error) within
  `ADMIN_ALERT_DEDUP_SECONDS` (5 minutes) is dropped — a Redis key set with NX and an expiry.
- Grouping: alerts wait in a Redis list and are flushed a minute after the first one (a second
  after the list reaches 5); on flush they are grouped by context (owner and terminal numbers
  normalised) and the first 100 characters of the error: one message per group.
- Cap: at most `ADMIN_ALERTS_PER_HOUR` messages per clock hour (a Redis counter); extra groups
  are dropped with a log line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from core.clock import as_moscow
from core.jobs import enqueue
from core.redis import get_redis
from notifications.models import Delivery
from notifications.services import notify_admin_chat
from tenancy.models import Owner

logger = logging.getLogger("notifications.alerts")

_PENDING = "vk:alerts:pending"
_FLUSH_SCHEDULED = "vk:alerts:flush-scheduled"
_FLUSH_SOON_AT = 5
_FLUSH_TASK = "notifications.tasks.flush_admin_alerts"
_NUMBERS = re.compile(r"\b(user|owner|terminal|run)\s*#?\d+", re.IGNORECASE)


def _moscow(moment: datetime) -> str:
    return as_moscow(moment).strftime("%d.%m.%Y %H:%M:%S")


def record_failure(*, owner_id: int | None, context: str, error: str) -> bool:
    """Queue one failure of background work for the operators (`context` names what failed);
    False when it is a duplicate of a recent one."""
    client = get_redis()
    fingerprint = hashlib.sha256(f"{context}|{owner_id}|{error[:50]}".encode()).hexdigest()[:32]
    if not client.set(
        f"vk:alerts:dedup:{fingerprint}", 1, nx=True, ex=settings.ADMIN_ALERT_DEDUP_SECONDS
    ):
        logger.info("admin alert de-duplicated: %s owner=%s", context, owner_id)
        return False
    entry = {
        "owner_id": owner_id,
        "context": context,
        "error": error[:3000],
        "at": timezone.now().isoformat(),
    }
    length = client.rpush(_PENDING, json.dumps(entry))
    if int(length) >= _FLUSH_SOON_AT:
        enqueue(_FLUSH_TASK, countdown=1)
    elif client.set(_FLUSH_SCHEDULED, 1, nx=True, ex=settings.ADMIN_ALERT_FLUSH_SECONDS + 30):
        enqueue(_FLUSH_TASK, countdown=settings.ADMIN_ALERT_FLUSH_SECONDS)
    return True


def group_key(context: str, error: str) -> str:
    return f"{_NUMBERS.sub(lambda m: m.group(1) + ' <n>', context)}|{error[:100]}"


def flush(now: datetime | None = None) -> list[Delivery]:
    """Turn the waiting alerts into one admin message per group, within the hourly cap.
    Safe to run concurrently: each alert is taken from Redis by exactly one flush."""
    client = get_redis()
    pipe = client.pipeline(transaction=True)
    pipe.lrange(_PENDING, 0, -1)
    pipe.delete(_PENDING)
    pipe.delete(_FLUSH_SCHEDULED)
    raw, _, _ = pipe.execute()
    if not raw:
        return []
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in raw:
        entry = json.loads(item)
        groups[group_key(entry["context"], entry["error"])].append(entry)

    now = now or timezone.now()
    hour_key = f"vk:alerts:hour:{as_moscow(now):%Y%m%d%H}"
    names = dict(
        Owner.objects.filter(
            pk__in={e["owner_id"] for g in groups.values() for e in g if e["owner_id"]}
        ).values_list("pk", "name")
    )
    rows: list[Delivery] = []
    for entries in groups.values():
        sent = client.incr(hour_key)
        client.expire(hour_key, 3700)
        if int(sent) > settings.ADMIN_ALERTS_PER_HOUR:
            logger.warning(
                "admin alert cap (%s/h) reached; dropped: %s",
                settings.ADMIN_ALERTS_PER_HOUR,
                entries[0]["context"],
            )
            continue
        owners = list(dict.fromkeys(e["owner_id"] for e in entries))
        times = sorted(e["at"] for e in entries)
        rows += notify_admin_chat(
            template="admin_error",
            context={
                "count": len(entries),
                "time": _moscow(now),
                "context": entries[0]["context"],
                "owners": ", ".join(f"{names.get(o, '?')} (ID: {o})" if o else "—" for o in owners),
                "first_at": _moscow(datetime.fromisoformat(times[0])),
                "last_at": _moscow(datetime.fromisoformat(times[-1])),
                "error": entries[0]["error"],
            },
        )
    return rows
