"""One Redis client per process for locks and rate limits (the cache and Celery have their own)."""

from __future__ import annotations

import threading

import redis
from django.conf import settings

_lock = threading.Lock()
_client: redis.Redis | None = None


def get_redis() -> redis.Redis:
    """The shared client for `settings.REDIS_URL` (thread-safe connection pool)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = redis.Redis.from_url(settings.REDIS_URL, health_check_interval=30)
    return _client
