"""The database backend (core.db): a health check free for a live idle connection, a
connection whose server side is gone is found unusable before a request uses it."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def _backend_query(pid: int) -> str:
    """What the server says the backend `pid` ran last, asked over a connection of its own."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        row = other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return row[0] if row else ""


def test_a_live_idle_connection_passes_without_a_round_trip() -> None:
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid() /* vk-health-marker */")
        pid = cursor.fetchone()[0]
    assert connection.is_usable()
    # No SELECT 1 reached the server: its last statement is still ours.
    assert "vk-health-marker" in _backend_query(pid)


def test_a_terminated_backend_is_unusable_and_the_next_request_reconnects() -> None:
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not connection.is_usable()
    # What Django does at the start of a request with CONN_HEALTH_CHECKS: close, then reconnect.
    connection.health_check_done = False  # type: ignore[attr-defined]
    connection.close_if_health_check_failed()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_hot_read_returns_its_row_or_none() -> None:
    """core.db.prepared: server-side parameters, the first row or None."""
    from core.db.prepared import fetch_one

    assert fetch_one("SELECT %s::int + 1", [41]) == (42,)
    assert fetch_one("SELECT 1 WHERE false", []) is None
