"""A Celery worker whose owner lock and Vendista rate limits are kept per host instead of
fleet-wide — the multi-host guarantees broken on purpose, to show the checks catch it.

    python -m tests.scaleout.sabotage <host name> -A celery_app worker ...

Test-only: it changes nothing in the product, it starts the product's worker with the lock's
Redis key and the buckets' key prefix made host-specific (as if each host had its own Redis for
them, or used Celery's per-worker `rate_limit`), which is what a fleet must never do.
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
    from vendista.services import lock

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

    lock.OwnerLock.__init__ = per_host_lock  # type: ignore[method-assign]
    ratelimit.RateLimiter.__init__ = per_host_limits  # type: ignore[method-assign]


def main() -> None:
    host, *celery_args = sys.argv[1:]
    break_sharing(host)
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *celery_args]
    celery_main()


if __name__ == "__main__":
    main()
