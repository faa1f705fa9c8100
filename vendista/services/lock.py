"""The owner lock: at most one run of an owner talks to Vendista at a time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings

from core.redis import get_redis


class OwnerBusy(Exception):
    """Another run of this owner holds the owner's lock."""


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
