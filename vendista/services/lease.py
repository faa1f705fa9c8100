"""A run's lease: the claim of one attempt on a run, kept alive by a heartbeat thread.

An attempt claims its run by raising the run's `lease_token` (a fencing token) in PostgreSQL
while it holds the owner's Redis lock. A background thread then, every quarter of the lock's
TTL, extends the lock (only if this attempt still holds it) and stamps the run's heartbeat (only
if the token is still this attempt's), so neither lapses while the import lives, even inside a
slow Vendista call. Every page commit checks the token too: an attempt that was cancelled, or
woke up after another attempt took the run over, cannot write another page.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import connection, connections

from vendista.services.lock import LeaseLost, OwnerLock

logger = logging.getLogger(__name__)


def claim(run_id: int) -> int | None:
    """Take the run for this attempt (queued, or running under a lock that lapsed): the new
    lease token, or None when the run is finished or cancelled."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE vendista_importrun SET status = 'running', lease_token = lease_token + 1, "
            "started_at = coalesce(started_at, now()), heartbeat_at = now(), "
            "attempts = attempts + 1 WHERE id = %s AND status IN ('queued', 'running') "
            "RETURNING lease_token",
            [run_id],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def still_holds(run_id: int, token: int) -> bool:
    """Stamp the run's heartbeat if this attempt still holds it (fenced by the token); False
    only when the stored run shows another token or a final status."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE vendista_importrun SET heartbeat_at = now() "
            "WHERE id = %s AND lease_token = %s AND status = 'running'",
            [run_id, token],
        )
        if cursor.rowcount == 1:
            return True
        cursor.execute("SELECT lease_token, status FROM vendista_importrun WHERE id = %s", [run_id])
        row = cursor.fetchone()
    # A row this connection cannot see (not committed yet) says nothing; page commits are
    # fenced on their own.
    return row is None or (row[0] == token and row[1] == "running")


class Lease:
    """The heartbeat of one attempt: `check()` raises LeaseLost once the lock or run is gone."""

    def __init__(self, run_id: int, token: int, lock: OwnerLock) -> None:
        self.run_id = run_id
        self.token = token
        self.lock = lock
        self.interval = max(0.2, settings.VENDISTA_LOCK_TTL / 4)
        self.lost_reason = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"vendista-lease-{run_id}", daemon=True
        )

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def check(self) -> None:
        if self.lost_reason:
            raise LeaseLost(self.lost_reason)

    def _beat(self) -> None:
        last_extended = time.monotonic()
        try:
            while not self._stop.wait(self.interval):
                try:
                    if not self.lock.extend():
                        self.lost_reason = "the owner lock passed to another run"
                        return
                    last_extended = time.monotonic()
                except Exception as exc:
                    logger.warning("run %s: lock not extended: %s", self.run_id, exc)
                    if time.monotonic() - last_extended >= settings.VENDISTA_LOCK_TTL * 0.75:
                        self.lost_reason = "the owner lock could not be extended in time"
                        return
                try:
                    if not still_holds(self.run_id, self.token):
                        self.lost_reason = "the run was cancelled or taken over"
                        return
                except Exception as exc:
                    logger.warning("run %s: heartbeat not stored: %s", self.run_id, exc)
                    connections.close_all()
        finally:
            connections.close_all()
