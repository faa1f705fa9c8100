"""`wait_until_idle(worker)`: the observable form of "nothing else is going to happen".

A test that checks that something did *not* happen (no retry, no duplicate) waits until the
in-process Celery worker (`celery_worker` fixture) has nothing left, rather than sleeping for a
while: every later effect would have to come from a message, and a message is somewhere we can
look — in a queue, delivered but not yet acknowledged (prefetched, held for its countdown or
ETA, running: tasks are `acks_late`), or a request the worker is executing.
"""

from __future__ import annotations

import json
import time

import redis
from celery.worker import WorkController
from celery.worker import state as worker_state

# kombu's Redis transport: messages delivered and not yet acknowledged live in this hash.
UNACKED = "unacked"
PRIORITY_SEP = "\x06\x16"


def pending_work(worker: WorkController) -> list[str]:
    """What is still to be done: task names of queued, unacknowledged and running messages.

    Read in the order a message moves (queue → delivered → running), so one moving on while we
    look is seen at least once, except in the instant between leaving its queue and being
    recorded as delivered: `wait_until_idle` looks twice.
    """
    client = redis.Redis.from_url(worker.app.conf.broker_url)
    try:
        names = [queue.name for queue in worker.app.conf.task_queues]
        keys = [f"{name}{PRIORITY_SEP}{p}" if p else name for name in names for p in (0, 3, 6, 9)]
        pending = [_task_name(raw) for key in keys for raw in client.lrange(key, 0, -1)]
        pending += [_task_name(json.loads(raw)[0]) for raw in client.hvals(UNACKED)]
    finally:
        client.close()
    requests = {*worker_state.reserved_requests, *worker_state.active_requests}
    pending += [request.name for request in requests]
    return pending


def wait_until_idle(worker: WorkController, timeout: float = 30.0, interval: float = 0.1) -> None:
    """Return once `pending_work` is empty on two looks in a row; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while True:
        pending = pending_work(worker)
        quiet = 0 if pending else quiet + 1
        if quiet == 2:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the worker still had work after {timeout} s: {pending}")
        time.sleep(interval)


def _task_name(raw: bytes | str | dict[str, object]) -> str:
    message = json.loads(raw) if isinstance(raw, bytes | str) else raw
    headers = message.get("headers")
    return str(headers.get("task", "?")) if isinstance(headers, dict) else "?"
