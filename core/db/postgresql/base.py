"""PostgreSQL (psycopg 3) with django-prometheus's query metrics and a health check that costs
no round trip.

Django's `CONN_HEALTH_CHECKS` sends `SELECT 1` before the first query of every request on a
reused connection — on the kiosk's status poll that was one of its two database round trips. An
idle connection has nothing to read, so a zero-timeout poll of its socket tells the usual case
apart at the price of a system call: a server that restarted, crashed or terminated the backend
has closed the socket (or sent its FATAL message), which makes it readable. Only then is the
`SELECT 1` made, to decide for certain (a readable socket may also hold a NOTICE).
"""

from __future__ import annotations

import select

from django_prometheus.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status != TransactionStatus.IDLE:
            return bool(super().is_usable())
        try:
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
            ready = poller.poll(0)
        except (OSError, ValueError):
            return False
        return True if not ready else bool(super().is_usable())
