"""A worker host's own `/metrics`: the Celery worker serves its host's multiprocess directory.

A web process merges `PROMETHEUS_MULTIPROC_DIR` at its `/metrics`; a worker host without a web
would have nobody to do it. With `WORKER_METRICS_PORT` set, the worker's main process (the one
that forks the pool) serves the same merge over HTTP on that port, behind `METRICS_TOKEN` as the
web's, from a thread started at `worker_init`. Each process of one directory is then scraped
through exactly one server: set the port only where no web shares the worker's directory.

The directory is kept small and current as the web's is (gunicorn's `child_exit`): a pool
process marks itself dead when it exits, and the start of the worker clears the live gauges of
processes that died without doing so (SIGKILL). Counters of dead processes stay: they still
count.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, multiprocess
from prometheus_client.exposition import ThreadingWSGIServer

logger = logging.getLogger(__name__)

_FILE_PID = re.compile(r"_(\d+)\.db$")
_server: Any = None


def multiproc_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clear_dead_processes(directory: str) -> list[int]:
    """Drop the live gauges of processes of this host that are gone; returns their pids."""
    pids = {
        int(match.group(1))
        for path in Path(directory).glob("*.db")
        if (match := _FILE_PID.search(path.name))
    }
    dead = sorted(pid for pid in pids if not _alive(pid))
    for pid in dead:
        multiprocess.mark_process_dead(pid, directory)
    return dead


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged."""


def metrics_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """WSGI: the merged registry at `/metrics` (or `/`), 401 without the token."""
    from core.metrics import process_registry, token_ok

    if environ.get("PATH_INFO", "/") not in ("/", "/metrics"):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    if not token_ok(environ.get("HTTP_AUTHORIZATION", "")):
        start_response(
            "401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")]
        )
        return [b"metrics token required\n"]
    page = generate_latest(process_registry())
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [page]


def serve(port: int, address: str = "0.0.0.0") -> Any:  # noqa: S104 - scraped from elsewhere
    """Start the metrics server in a daemon thread; returns the server (`.server_port`)."""
    server = make_server(address, port, metrics_app, ThreadingWSGIServer, _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True)
    thread.start()
    return server


def start_worker_server(**_: object) -> None:
    """`worker_init`: serve this host's metrics when `WORKER_METRICS_PORT` is set."""
    global _server
    from django.conf import settings

    port = settings.WORKER_METRICS_PORT
    if not port or _server is not None:
        return
    directory = multiproc_dir()
    if not directory:
        # The pool's processes would count into their own memory, invisible to this server.
        # Nothing is served: the target's `up` is 0 and CeleryWorkerHostDown says so.
        logger.error("WORKER_METRICS_PORT is set without PROMETHEUS_MULTIPROC_DIR: not serving")
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    dead = clear_dead_processes(directory)
    _server = serve(port)
    logger.info(
        "worker metrics on port %s (%s; cleared %s dead processes)", port, directory, len(dead)
    )


def mark_this_process_dead(**_: object) -> None:
    """`worker_process_shutdown`: a pool process's live gauges leave with it."""
    directory = multiproc_dir()
    if directory:
        multiprocess.mark_process_dead(os.getpid(), directory)


def connect() -> None:
    """Wire the signals (called from celery_app)."""
    from celery.signals import worker_init, worker_process_shutdown

    worker_init.connect(start_worker_server, weak=False)
    worker_process_shutdown.connect(mark_this_process_dead, weak=False)
