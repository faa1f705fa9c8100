"""gunicorn settings for vendkiosk's web process (local and production)."""

from __future__ import annotations

import os
from typing import Any

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
# Request lines only; query strings can carry tokens, so they are not logged.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the shared Prometheus directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
