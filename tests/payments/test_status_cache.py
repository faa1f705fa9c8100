"""The status poll's per-process cache (payments/status_cache.py over core/db/changes.py): a
change committed anywhere reaches the next poll, the listener's loss turns the cache off, and a
read that raced a change is never kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.db.changes import NotifiedCache
from kiosk.models import Session
from payments.models import PaymentIntent
from payments.status_cache import CHANNEL, STATUS_CACHE
from tests.helpers.kiosk import KioskClient, make_kiosk, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other_process() -> Iterator[psycopg.Connection[Any]]:
    """A connection of its own to the test database: writes the web process does not make."""
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"] or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        autocommit=True,
    ) as conn:
        yield conn


@pytest.fixture
def kiosk(redis_client) -> KioskClient:
    return make_kiosk()


def _intent(k: KioskClient, **fields: Any) -> PaymentIntent:
    session = Session.objects.create(
        kiosk=k.kiosk,
        type="diagnostics",
        contact_email="client@example.com",
        ttl_ms=60_000,
        expires_at=timezone.now() + timedelta(minutes=1),
    )
    return PaymentIntent.objects.create(
        session=session,
        amount=48000,
        provider="dev",
        idempotency_key=f"vk-test-{session.pk}",
        expires_at=timezone.now() + timedelta(minutes=15),
        **fields,
    )


def _poll(k: KioskClient, intent: PaymentIntent) -> dict[str, Any]:
    response = k.client.get(f"/api/payments/status/{intent.pk}")
    assert response.status_code == 200, response.content
    return response.json()


def _cached(k: KioskClient, intent: PaymentIntent) -> dict[str, Any]:
    """Poll until this process's listener is up and the document is kept."""
    wait_for(lambda: _poll(k, intent) and STATUS_CACHE.listening, timeout=10, interval=0.05)
    _poll(k, intent)
    assert str(intent.pk) in STATUS_CACHE._entries
    return _poll(k, intent)


def test_a_change_committed_elsewhere_reaches_the_next_poll(kiosk, other_process) -> None:
    intent = _intent(kiosk)
    assert _cached(kiosk, intent)["status"] == "pending"
    other_process.execute(
        "UPDATE payments_paymentintent SET status = 'succeeded' WHERE id = %s", [intent.pk]
    )
    # The trigger's notice drops the entry (well inside the cache's 30 s bound).
    wait_for(lambda: str(intent.pk) not in STATUS_CACHE._entries, timeout=5, interval=0.01)
    assert _poll(kiosk, intent)["status"] == "succeeded"


def test_a_change_of_a_column_the_document_does_not_hold_sends_no_notice(
    kiosk, other_process
) -> None:
    intent = _intent(kiosk)
    _cached(kiosk, intent)
    other_process.execute(
        "UPDATE payments_paymentintent SET last_polled_at = now() WHERE id = %s", [intent.pk]
    )
    other_process.execute(
        "UPDATE payments_paymentintent SET qr_code_data = 'https://pay/x' WHERE id = %s",
        [intent.pk],
    )
    # Notices arrive in commit order: once the second one is in, the first sent nothing.
    wait_for(lambda: str(intent.pk) not in STATUS_CACHE._entries, timeout=5, interval=0.01)
    assert _poll(kiosk, intent)["qr_code_data"] == "https://pay/x"


def test_this_process_reads_its_own_writes_back_at_once(kiosk) -> None:
    intent = _intent(kiosk)
    _cached(kiosk, intent)
    PaymentIntent.objects.filter(pk=intent.pk).update(status="canceled")
    assert _poll(kiosk, intent)["status"] == "canceled"  # no wait for the notice
    _cached(kiosk, intent)
    intent.refresh_from_db()
    intent.status = "expired"
    intent.save()
    assert _poll(kiosk, intent)["status"] == "expired"


def test_a_deleted_or_truncated_intent_is_gone_from_the_cache(kiosk, other_process) -> None:
    first, second = _intent(kiosk), _intent(kiosk)
    _cached(kiosk, first)
    _cached(kiosk, second)
    other_process.execute("DELETE FROM payments_paymentintent WHERE id = %s", [first.pk])
    wait_for(lambda: str(first.pk) not in STATUS_CACHE._entries, timeout=5, interval=0.01)
    assert kiosk.client.get(f"/api/payments/status/{first.pk}").status_code == 404
    assert str(second.pk) in STATUS_CACHE._entries
    other_process.execute("TRUNCATE payments_paymentintent CASCADE")
    wait_for(lambda: len(STATUS_CACHE) == 0, timeout=5, interval=0.01)
    assert kiosk.client.get(f"/api/payments/status/{second.pk}").status_code == 404


def test_another_kiosk_cannot_read_a_cached_document(kiosk) -> None:
    intent = _intent(kiosk)
    _cached(kiosk, intent)
    stranger = make_kiosk()
    assert stranger.client.get(f"/api/payments/status/{intent.pk}").status_code == 404


def test_while_the_listener_is_down_nothing_is_cached_and_changes_are_seen(
    kiosk, other_process
) -> None:
    intent = _intent(kiosk)
    _cached(kiosk, intent)
    killed = other_process.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
        " AND datname = current_database()",
        [f"vk-listen:{CHANNEL}"],
    ).fetchall()
    assert killed == [(True,)]
    wait_for(lambda: not STATUS_CACHE.listening, timeout=5, interval=0.01)
    assert len(STATUS_CACHE) == 0
    # Nobody listens now: this change's notice is lost, and the poll still sees it.
    other_process.execute(
        "UPDATE payments_paymentintent SET status = 'failed' WHERE id = %s", [intent.pk]
    )
    assert _poll(kiosk, intent)["status"] == "failed"
    assert len(STATUS_CACHE) == 0
    # The listener comes back by itself, and then the cache works again.
    assert _cached(kiosk, intent)["status"] == "failed"
    other_process.execute(
        "UPDATE payments_paymentintent SET status = 'expired' WHERE id = %s", [intent.pk]
    )
    wait_for(lambda: _poll(kiosk, intent)["status"] == "expired", timeout=5, interval=0.01)


def test_inside_a_transaction_the_cache_is_neither_used_nor_filled(kiosk) -> None:
    intent = _intent(kiosk)
    _cached(kiosk, intent)
    STATUS_CACHE.forget()
    with transaction.atomic():
        PaymentIntent.objects.filter(pk=intent.pk).update(status="succeeded")
        assert _poll(kiosk, intent)["status"] == "succeeded"
        assert len(STATUS_CACHE) == 0
        transaction.set_rollback(True)
    assert _poll(kiosk, intent)["status"] == "pending"


def test_a_read_that_raced_a_notice_is_not_kept(kiosk, settings) -> None:
    intent = _intent(kiosk)
    _cached(kiosk, intent)  # the listener is up
    cache = NotifiedCache(CHANNEL, ttl_s=lambda: 30.0)
    wait_for(lambda: cache.get("k", lambda: 1) and cache.listening, timeout=10, interval=0.05)
    cache.forget()

    def load_while_a_notice_arrives() -> str:
        cache.forget("k")  # what the listener does when a notice comes in mid-read
        return "old"

    assert cache.get("k", load_while_a_notice_arrives) == "old"
    assert len(cache) == 0
    assert cache.get("k", lambda: "new") == "new"
    assert cache.get("k", lambda: "newer") == "new"  # kept now
    cache.stop()


def test_the_cache_can_be_turned_off(kiosk, settings, other_process) -> None:
    settings.PAYMENTS_STATUS_CACHE_S = 0
    STATUS_CACHE.forget()
    intent = _intent(kiosk)
    for _ in range(3):
        _poll(kiosk, intent)
    assert len(STATUS_CACHE) == 0


def test_the_listener_connects_where_db_listen_points(kiosk, settings) -> None:
    intent = _intent(kiosk)
    _cached(kiosk, intent)
    STATUS_CACHE.stop()
    # A LISTEN address where nothing answers: the cache stays off, every poll reads the row.
    settings.DB_LISTEN = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": "9"}
    try:
        for _ in range(20):
            assert _poll(kiosk, intent)["status"] == "pending"
        assert not STATUS_CACHE.listening and len(STATUS_CACHE) == 0
    finally:
        STATUS_CACHE.stop()
    # Pointed at the test database itself (as DATABASE_URL would be), it listens again.
    settings.DB_LISTEN = dict(connection.settings_dict)
    _cached(kiosk, intent)
    STATUS_CACHE.stop()
