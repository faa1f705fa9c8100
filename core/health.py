"""`/healthz`: is the database, Redis and at least one Celery worker alive? JSON, 200 or 503."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis
from celery import current_app
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

Check = dict[str, Any]


def check_database() -> Check:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


# What a Redis that carries the Celery broker needs (docs/operations.md, "Redis").
BROKER_REDIS_SETTINGS = {
    "appendonly": "yes",
    "appendfsync": "everysec",
    "maxmemory-policy": "noeviction",
}


def check_redis() -> Check:
    """Ping, and report the persistence and eviction settings (`broker_settings_ok` is False
    when one differs from what the broker needs, or null when CONFIG is not allowed)."""
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
        found: dict[str, str] | None
        try:
            found = {}
            for name in BROKER_REDIS_SETTINGS:
                value = client.config_get(name).get(name)
                found[name] = value.decode() if isinstance(value, bytes) else str(value)
        except redis.ResponseError:  # CONFIG disabled (managed Redis): cannot tell
            found = None
    finally:
        client.close()
    if found is None:
        return {"settings": None, "broker_settings_ok": None}
    ok = all(found[name] == wanted for name, wanted in BROKER_REDIS_SETTINGS.items())
    return {"settings": found, "broker_settings_ok": ok}


def check_celery() -> Check:
    replies = current_app.control.ping(timeout=settings.HEALTHZ_CELERY_TIMEOUT) or []
    workers = sorted(name for reply in replies for name in reply)
    if not workers:
        raise RuntimeError("no Celery worker answered the ping")
    return {"workers": workers}


CHECKS: dict[str, Callable[[], Check]] = {
    "database": check_database,
    "redis": check_redis,
    "celery": check_celery,
}


def _run(check: Callable[[], Check]) -> Check:
    started = time.perf_counter()
    try:
        result: Check = {"ok": True, **check()}
    except Exception as exc:
        # The class and message only: never a connection string or a traceback.
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {name: _run(check) for name, check in CHECKS.items()}
    healthy = all(result["ok"] for result in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
