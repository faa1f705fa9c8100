"""The beat scheduler: django-celery-beat's database scheduler, made safe to start twice.

- **One leader.** Each beat process competes for a Redis lock (`vk:beat:leader`, a value unique
  to the process, a TTL of `BEAT_LEADER_TTL` seconds). Only the holder sends; it extends the lock
  on every tick, and checks it (compare-and-extend, so only the holder can) right before each
  send. Every other beat is a standby that tries to take the lock every third of the TTL, so it
  takes over at most ~1.3 TTL after the leader died. A leader that cannot extend (paused, or
  Redis gone) stops sending at once. Each new leader draws a generation number (a fencing
  counter, logged) and re-reads the schedule from the database, so no tick is sent twice.
- **Code creates, the admin decides.** An entry of `CELERY_BEAT_SCHEDULE` is created with its
  schedule, enabled flag and expiry only when no entry of that name exists; after that the
  admin's timing, enabled flag and expiry win and survive restarts. What an entry runs (task,
  arguments, queue and routing) stays the code's and is refreshed at every start.
- **Expiry as configured.** `options={"expire_seconds": N}` is what django-celery-beat stores;
  a Celery-style `expires` given in seconds is read as the same.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from core.metrics import BEAT_TICK_KEY
from core.redis import get_redis

logger = logging.getLogger(__name__)

LEADER_KEY = "vk:beat:leader"
GENERATION_KEY = "vk:beat:generation"
_EXTEND = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
)
_RELEASE = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)
# Seconds between attempts to reach PostgreSQL while it is down.
DATABASE_RETRY_S = 2.0
# The fields of a stored entry the code keeps owning; the rest (timing, enabled, expiry) are
# written once, when the entry is created.
CODE_OWNED_FIELDS = ("task", "args", "kwargs", "queue", "exchange", "routing_key", "priority")


class CodeDefaultsEntry(ModelEntry):
    """A code-defined entry: created once, then the admin's timing wins."""

    @classmethod
    def from_entry(cls, name: str, app: Any = None, **entry: Any) -> CodeDefaultsEntry:
        options = dict(entry.get("options") or {})
        expires = options.pop("expires", None)
        if isinstance(expires, int | float) and "expire_seconds" not in options:
            options["expire_seconds"] = int(expires)
        entry["options"] = options
        stored = PeriodicTask._default_manager.filter(name=name).first()
        if stored is None:
            stored = PeriodicTask._default_manager.create(name=name, **cls._unpack_fields(**entry))
            logger.info("beat: created the schedule entry %s", name)
            return cls(stored, app=app)
        fields = cls._unpack_fields(**entry)
        changed = [f for f in CODE_OWNED_FIELDS if getattr(stored, f) != fields.get(f)]
        if changed:
            for field in changed:
                setattr(stored, field, fields.get(field))
            stored.save(update_fields=changed)
        return cls(stored, app=app)


class LeaderScheduler(DatabaseScheduler):
    """The database scheduler that sends only while it holds the beat leader lock."""

    Entry = CodeDefaultsEntry

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.is_leader = False
        self.generation: int | None = None
        self.lock_value = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        self.leader_ttl = float(settings.BEAT_LEADER_TTL)
        super().__init__(*args, **kwargs)

    # --- leadership ---------------------------------------------------------------------------

    def hold_leadership(self) -> bool:
        """Extend our lock (leader) or try to take it (standby); False when we may not send."""
        client = get_redis()
        ttl_ms = int(self.leader_ttl * 1000)
        try:
            if self.is_leader:
                if client.eval(_EXTEND, 1, LEADER_KEY, self.lock_value, ttl_ms):
                    return True
                logger.warning("beat: lost the leader lock (generation %s)", self.generation)
                self._step_down()
                return False
            if client.set(LEADER_KEY, self.lock_value, nx=True, px=ttl_ms):
                self.generation = int(client.incr(GENERATION_KEY))
                self.is_leader = True
                # Start from what the previous leader stored, not from this process's memory.
                self._initial_read = True
                self._heap = None
                logger.warning("beat: now the leader (generation %s)", self.generation)
                return True
        except redis.RedisError as exc:
            logger.warning("beat: leader lock unavailable: %s", exc)
            if self.is_leader:
                self._step_down()
        return False

    def _step_down(self) -> None:
        self.is_leader = False
        self._dirty.clear()

    def setup_schedule(self) -> None:
        # Started while PostgreSQL is down or still recovering: wait for it instead of exiting.
        while True:
            try:
                connection.ensure_connection()
                super().setup_schedule()
                return
            except DatabaseError as exc:
                logger.warning("beat: database unavailable at start, retrying: %s", exc)
                self._initial_read = True  # the failed attempt's read counts for nothing
                _drop_connection()
                time.sleep(DATABASE_RETRY_S)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self.hold_leadership():
            return self.leader_ttl / 3
        self._record_tick()
        try:
            return float(min(super().tick(*args, **kwargs), self.leader_ttl / 3))
        except DatabaseError as exc:
            # PostgreSQL went away while the schedule was read: read it again on a later tick
            # (nothing was sent from the unread schedule) instead of exiting.
            logger.warning("beat: database unavailable, schedule read again shortly: %s", exc)
            self._initial_read = True
            self._heap = None
            _drop_connection()
            return min(DATABASE_RETRY_S, self.leader_ttl / 3)

    def _record_tick(self) -> None:
        """The leader's heartbeat for monitoring (`celery_beat_last_tick_timestamp_seconds`)."""
        try:
            get_redis().set(BEAT_TICK_KEY, repr(time.time()), ex=24 * 3600)
        except redis.RedisError as exc:
            logger.info("beat: could not record the tick: %s", exc)

    def apply_entry(self, entry: Any, producer: Any = None) -> None:
        # The fence: a send happens only right after our lock was proven ours.
        if not self.hold_leadership():
            logger.warning("beat: not the leader any more; %s not sent", entry.name)
            return
        super().apply_entry(entry, producer=producer)

    def sync(self) -> None:
        if not self.is_leader:
            self._dirty.clear()
            return
        super().sync()

    def close(self) -> None:
        super().close()
        if self.is_leader:
            try:
                get_redis().eval(_RELEASE, 1, LEADER_KEY, self.lock_value)
            except redis.RedisError:
                logger.info("beat: leader lock left to expire")
            self.is_leader = False


def _drop_connection() -> None:
    """Close the broken connection so the next query opens a new one."""
    with contextlib.suppress(DatabaseError):
        connection.close()
