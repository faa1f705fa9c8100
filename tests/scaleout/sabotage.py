"""A Celery worker with the multi-host guarantees broken on purpose, to show the checks of
tests/scaleout catch it.

    python -m tests.scaleout.sabotage per-host <host name> -A celery_app worker ...

`per-host`: the owner lock's Redis key and the rate buckets' key prefix made host-specific (as
if each host had its own Redis for them, or used Celery's per-worker `rate_limit`); and a run
never yields, so each start holds its (per-host) lock over many pages — with yields every start
is about one page, and two runs' turns could not be told from an interleaving at the sandbox.
Test-only: nothing in the product changes; the product's worker starts with this patched in.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any


def break_sharing(host: str) -> None:
    import django

    django.setup()
    from core import ratelimit
    from vendista.services import lock, runs

    lock_init = lock.OwnerLock.__init__

    def per_host_lock(self: lock.OwnerLock, owner_id: int, holder: str) -> None:
        lock_init(self, owner_id, holder)
        self.key = f"{self.key}:{host}"

    limiter_init = ratelimit.RateLimiter.__init__

    def per_host_limits(
        self: ratelimit.RateLimiter,
        client: Any = None,
        *,
        prefix: str = "vk:rl:",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        limiter_init(self, client, prefix=f"{prefix}{host}:", sleep=sleep)

    runs.YIELD_WAIT_S = float("inf")
    lock.OwnerLock.__init__ = per_host_lock  # type: ignore[method-assign]
    ratelimit.RateLimiter.__init__ = per_host_limits  # type: ignore[method-assign]


def main() -> None:
    mode, host, *celery_args = sys.argv[1:]
    if mode == "per-host":
        break_sharing(host)
    else:
        raise SystemExit(f"unknown sabotage {mode!r}")
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *celery_args]
    celery_main()


if __name__ == "__main__":
    main()
