"""Redis token buckets shared by every process (core/ratelimit.py).

Tokens are counted in Redis server time (`TIME`), so what a bucket promises is checked against
instants measured around the calls (a loaded machine only makes those intervals longer), never
against the gap between two moments the caller happened to get the CPU.
"""

from __future__ import annotations

import threading
import time

import pytest

from core.ratelimit import Bucket, RateLimiter, RateLimitTimeout

# Redis TIME (the wall clock) against this process's monotonic clock: both on this machine.
SKEW = 0.01


def test_a_bucket_hands_out_tokens_at_its_rate(redis_client) -> None:
    limiter = RateLimiter(redis_client)
    bucket = Bucket("test:rate", rate=10.0)
    started = time.monotonic()
    for _ in range(6):
        limiter.acquire([bucket])
    # The first token is there at once; five more need half a second at 10/s.
    assert time.monotonic() - started >= 0.45


def test_several_buckets_are_taken_together_or_not_at_all(redis_client) -> None:
    limiter = RateLimiter(redis_client)
    slow, fast = Bucket("test:slow", rate=0.5), Bucket("test:fast", rate=100.0, burst=5)

    started = time.monotonic()
    assert limiter.try_acquire([slow, fast]) == 0
    wait = limiter.try_acquire([slow, fast])
    elapsed = time.monotonic() - started

    # The slow bucket decides: its next token comes 2 s after the first was taken, and at most
    # `elapsed` of that has passed (the fast bucket would answer within 1/100 s).
    assert 2.0 - elapsed - SKEW <= wait <= 2.0
    # The refused call took nothing from the fast bucket: it still has its burst minus one.
    assert [limiter.try_acquire([fast]) for _ in range(4)] == [0, 0, 0, 0]


def test_acquire_gives_up_at_its_deadline(redis_client) -> None:
    limiter = RateLimiter(redis_client)
    bucket = Bucket("test:deadline", rate=0.1)
    started = time.monotonic()
    limiter.acquire([bucket])
    with pytest.raises(RateLimitTimeout) as raised:
        limiter.acquire([bucket], timeout=0.5)
    # Refused at once: the next token is 10 s after the first, less the time since.
    assert 10 - (time.monotonic() - started) - SKEW <= raised.value.wait <= 10


def test_limits_hold_across_clients_and_threads(redis_client) -> None:
    """Four threads with their own Redis connections share one 20/s bucket."""
    times: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        limiter = RateLimiter(redis_client.__class__.from_url(_url(redis_client)))
        for _ in range(5):
            limiter.acquire([Bucket("test:shared", rate=20.0)])
            with lock:
                times.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    started = time.monotonic()  # before the first token was taken
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(times) == 20
    # 20 tokens at 20/s (one ready at once): the last is at least 19/20 s after the first, which
    # was taken after `started` (a thread may note its time late, never early).
    assert max(times) - started >= 19 / 20 - SKEW


def _url(client) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs['db']}"


def test_wait_for_tells_the_wait_without_taking_a_token(redis_client) -> None:
    limiter = RateLimiter(redis_client)
    slow = Bucket("test:peek", rate=0.5)
    assert limiter.wait_for([slow]) == 0  # a fresh bucket has its token
    assert limiter.wait_for([slow]) == 0  # still: looking took nothing
    assert limiter.try_acquire([slow]) == 0
    peeked = limiter.wait_for([slow])
    # The next token comes 2 s after the first was taken; looking did not push it back.
    assert 0 < peeked <= 2.0
    assert limiter.try_acquire([slow]) <= peeked
