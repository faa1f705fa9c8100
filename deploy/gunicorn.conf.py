"""gunicorn settings for vendkiosk's web process (local and production)."""

from __future__ import annotations

import os
from typing import Any

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
# A worker is replaced after this many requests (a guard against slow leaks). The app is loaded
# once in the master and forked, so a replacement takes milliseconds rather than a second of
# Django start-up: with 2,000 requests and no preload a busy worker restarted every few seconds
# and each restart stalled a share of the requests (bench/kiosk_api_bench.py measured it).
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
preload_app = True
accesslog = "-"
# Request lines only; query strings can carry tokens, so they are not logged.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the shared Prometheus directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def when_ready(server: Any) -> None:
    """The app is loaded (preload_app) and about to be forked: move what it allocated out of
    the garbage collector's view, so a full collection in a worker scans only what requests
    allocate (a pause in the latency tail otherwise) and the pages stay shared after fork."""
    import gc

    gc.freeze()
