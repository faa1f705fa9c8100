"""The sweep: PostgreSQL holds every unit of pending work; Redis only carries it.

An app whose work waits in rows (a report to render, a message to send, alerts to group) registers
a sweep from its `AppConfig.ready()`; the `core.tasks.sweep_due_work` task runs every registered
sweep once a minute (beat) and when a worker starts. A sweep queues again what is due and not
claimed — rows whose queue message was lost (a Redis flush), whose claim lapsed (a killed
worker) or whose retry time came. Queueing twice is harmless: the task claims its row first.

A claim is a lease: a conditional UPDATE sets `lease_until = now + seconds` where the row is
unclaimed or its lease expired (`lease_filter`), so a SIGKILLed worker's claim lapses by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from prometheus_client import Counter

logger = logging.getLogger("core.sweeps")

Sweep = Callable[[], int]

_sweeps: dict[str, Sweep] = {}

# One series per registered sweep name (a handful, fixed in code).
SWEEP_REQUEUED = Counter("core_sweep_requeued", "Rows a sweep queued again", ["sweep"])
SWEEP_FAILED = Counter("core_sweep_failures", "Sweeps that raised", ["sweep"])


def register(name: str, sweep: Sweep) -> None:
    """Have `sweep()` (returns how many rows it queued) run by every sweep (one per name)."""
    _sweeps[name] = sweep


def run_all() -> dict[str, int]:
    """Run every registered sweep; one failing is logged and does not stop the others."""
    done: dict[str, int] = {}
    for name in sorted(_sweeps):
        try:
            done[name] = _sweeps[name]()
        except Exception:
            logger.exception("sweep %s failed", name)
            SWEEP_FAILED.labels(sweep=name).inc()
            done[name] = -1
        else:
            SWEEP_REQUEUED.labels(sweep=name).inc(max(0, done[name]))
    return done


def lease_free(field: str = "lease_until", now: datetime | None = None) -> Q:
    """Rows nobody holds: no lease, or one that expired."""
    now = now or timezone.now()
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": now})


def lease_until(seconds: float, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=seconds)
