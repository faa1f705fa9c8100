"""Hot reads as statements PostgreSQL parses and plans once per connection.

Django's psycopg backend binds parameters on the client, so PostgreSQL parses and plans the
query text on every call; for the kiosk's status poll that planning cost the server more than
the read itself. `fetch_one` sends the statement with server-side parameters and psycopg's
`prepare=True`: prepared on a connection's first use, then only bound and executed — when
`DB_PREPARED_STATEMENTS` is on (Django turns psycopg's prepared statements off by default);
otherwise the statement is sent with server-side parameters, unprepared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import connection


def fetch_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """The first row of `sql` (placeholders `%s`), or None."""
    # Django's cursor first: its health check, reconnection and error bookkeeping still apply.
    with (
        connection.cursor(),
        connection.wrap_database_errors,
        psycopg.Cursor(connection.connection) as cursor,
    ):
        cursor.execute(sql, params, prepare=True)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row
