"""Request throttles shared by the APIs: token buckets in Redis (core.ratelimit), per credential
and per client address, all of one request's buckets taken in a single round trip. The address
is `core.net.client_ip` (a client-supplied header counts only through a trusted proxy).

Rates are DRF-style strings, "600/min": up to 600 at once, refilled at 600 per minute.

A busy client does not pay a Redis round trip per request: where every bucket allows at least
60 a minute, a process takes up to 50 tokens at once (one per 60 of the smallest burst) and
spends them locally within `RESERVOIR_S`; tokens left over then are dropped, never handed out
later. So no process ever admits a request without a token from Redis, and when the buckets
hold less than a chunk, tokens are taken one at a time again — exact at the limit.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache
from typing import Any

from django.conf import settings
from rest_framework import throttling
from rest_framework.request import Request

from core.net import client_ip
from core.ratelimit import Bucket, RateLimiter

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_limiter = RateLimiter(prefix="vk:rl:")

RESERVOIR_S = 1.0
RESERVOIR_MAX_CHUNK = 50
# This process's tokens taken ahead: bucket keys -> (monotonic deadline, tokens left).
_reservoirs: dict[tuple[str, ...], tuple[float, int]] = {}
_reservoirs_lock = threading.Lock()


def chunk_size(buckets: list[Bucket]) -> int:
    """Tokens taken from Redis at once for these buckets: 1 (exact) for small rates."""
    return max(1, min(RESERVOIR_MAX_CHUNK, int(min(b.burst for b in buckets) // 60)))


def _from_reservoir(keys: tuple[str, ...], now: float) -> bool:
    with _reservoirs_lock:
        deadline, left = _reservoirs.get(keys, (0.0, 0))
        if left < 1 or deadline <= now:
            return False
        _reservoirs[keys] = (deadline, left - 1)
        return True


def _fill_reservoir(keys: tuple[str, ...], now: float, tokens: int) -> None:
    with _reservoirs_lock:
        if len(_reservoirs) >= 10_000:
            for stale in [key for key, (deadline, _) in _reservoirs.items() if deadline <= now]:
                del _reservoirs[stale]
        deadline, left = _reservoirs.get(keys, (0.0, 0))
        _reservoirs[keys] = (now + RESERVOIR_S, tokens + (left if deadline > now else 0))


@lru_cache(maxsize=64)
def parse_rate(rate: str) -> tuple[float, float]:
    """'600/min' → (tokens per second, burst)."""
    count, _, period = rate.partition("/")
    seconds = _PERIODS[period.strip()[:1].lower()]
    return int(count) / seconds, float(int(count))


def bucket(key: str, rate: str) -> Bucket:
    per_second, burst = parse_rate(rate)
    return Bucket(key, rate=per_second, burst=burst)


class BucketThrottle(throttling.BaseThrottle):
    """Takes a token from each of `buckets(request)` at once, or from none (then 429)."""

    def __init__(self) -> None:
        self._wait: float | None = None

    def buckets(self, request: Request) -> list[Bucket]:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        buckets = self.buckets(request)
        if not buckets:
            return True
        self._wait = None
        chunk = chunk_size(buckets)
        if chunk > 1:
            keys = tuple(b.key for b in buckets)
            now = time.monotonic()
            if _from_reservoir(keys, now):
                return True
            if _limiter.try_acquire(buckets, cost=chunk) <= 0:
                _fill_reservoir(keys, now, chunk - 1)
                return True
        wait = _limiter.try_acquire(buckets)
        self._wait = wait if wait > 0 else None
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


def address_bucket(request: Request, scope: str, rate: str) -> Bucket:
    return bucket(f"throttle_{scope}:{client_ip(request) or 'unknown'}", rate)


class AddressRateThrottle(BucketThrottle):
    """Requests per client address; `rate_setting` names the setting holding the rate."""

    scope = "staff_ip"
    rate_setting = "STAFF_IP_THROTTLE_RATE"

    def buckets(self, request: Request) -> list[Bucket]:
        return [address_bucket(request, self.scope, getattr(settings, self.rate_setting))]


class StaffRateThrottle(BucketThrottle):
    """The staff API: per credential (a user has one API token, or a signed-in session) and
    per address."""

    def buckets(self, request: Request) -> list[Bucket]:
        buckets = [address_bucket(request, "staff_ip", settings.STAFF_IP_THROTTLE_RATE)]
        if not (request.user and request.user.is_authenticated):
            return buckets  # anonymous: the address counts it
        ident = f"user-{request.user.pk}"
        return [bucket(f"throttle_staff_token:{ident}", settings.STAFF_THROTTLE_RATE), *buckets]
