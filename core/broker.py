"""The Redis broker transport, with one fix: the worker survives losing Redis mid-task.

When the connection drops, Celery's consumer first collects the connection (which detaches the
transport from it) and then closes it; closing the channel restores the unacknowledged messages,
and with a task still running (acks_late) that restore builds a new Redis client from the
detached transport and fails with `AttributeError: 'NoneType' object has no attribute
'hostname'` — an error kombu does not treat as a connection error, so the worker exits
("Unrecoverable error"). Here that case raises a Redis `ConnectionError` instead, which kombu
ignores while closing; the worker then reconnects as usual. The unacknowledged message stays in
Redis's unacked set and is redelivered by kombu's visibility-timeout restore (our tasks are
idempotent), and the durable rows in PostgreSQL are swept sooner than that anyway.

Used through `CELERY_BROKER_TRANSPORT = "core.broker:Transport"` with the usual redis:// URL.
"""

from __future__ import annotations

from typing import Any

import redis
from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection is already closed")
        return super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]


class Transport(kombu_redis.Transport):
    Channel = Channel
