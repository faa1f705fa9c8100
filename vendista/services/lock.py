"""The owner lock: at most one run of an owner talks to Vendista at a time.

The lock is a lease: it expires `VENDISTA_LOCK_TTL` seconds after its last extension, so a
killed or frozen worker frees it, and only its holder (a value unique to one attempt) may extend
or release it, so a late waker can never stretch the lease of the run that took over.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from core.redis import get_redis

# Compare-and-extend / compare-and-delete: the holder check and the write are one step.
_EXTEND = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
)
_RELEASE = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)


class OwnerBusy(Exception):
    """Another run of this owner holds the owner's lock."""


class LeaseLost(Exception):
    """This attempt no longer holds its run (cancelled, taken over) or its owner's lock."""


class OwnerLock:
    """One attempt's hold on an owner's lock; `extend()` is True while it still holds it."""

    def __init__(self, owner_id: int, holder: str) -> None:
        self.key = f"vk:lock:vendista-owner:{owner_id}"
        self.owner_id = owner_id
        # Unique per attempt: a redelivered task of the same run is a different holder.
        self.value = f"{holder}:{uuid.uuid4().hex}"
        self.ttl_ms = int(settings.VENDISTA_LOCK_TTL * 1000)

    def acquire(self) -> None:
        if not get_redis().set(self.key, self.value, nx=True, px=self.ttl_ms):
            current = get_redis().get(self.key)
            current_holder = current.decode() if isinstance(current, bytes) else current
            raise OwnerBusy(f"owner {self.owner_id} is busy with {current_holder}")

    def extend(self) -> bool:
        """Push the expiry out by a full TTL if we still hold the lock (fenced)."""
        return bool(get_redis().eval(_EXTEND, 1, self.key, self.value, self.ttl_ms))

    def release(self) -> None:
        get_redis().eval(_RELEASE, 1, self.key, self.value)

    def holder(self) -> str | None:
        current = get_redis().get(self.key)
        return current.decode() if isinstance(current, bytes) else current


@contextmanager
def owner_lock(owner_id: int, holder: str) -> Iterator[OwnerLock]:
    """Hold the owner's Redis lock for `holder` (a run id) for the block; raises OwnerBusy when
    another attempt holds it. The caller keeps it alive with `extend()` (see `runs.Lease`)."""
    lock = OwnerLock(owner_id, holder)
    lock.acquire()
    try:
        yield lock
    finally:
        # Redis may be gone: the lock then expires on its own.
        with contextlib.suppress(Exception):
            lock.release()
