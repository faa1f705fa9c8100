"""Import failures reach the operators' chat de-duplicated (5 minutes), grouped, and capped per
hour — as the original's admin error notifier; waiting alerts are rows in PostgreSQL, so a Redis
loss delays them to the next sweep and loses none."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from core import sweeps
from notifications import alerts
from notifications.models import AdminAlert, Delivery
from tenancy.models import Owner
from vendista import notices

from .conftest import ADMIN_CHAT

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _admin_chat(settings, redis_client):
    settings.ADMIN_TELEGRAM_CHAT_ID = ADMIN_CHAT
    return redis_client


def _pending(redis_client=None) -> int:
    return AdminAlert.objects.filter(flushed_at__isnull=True).count()


def test_identical_failures_within_five_minutes_are_dropped(redis_client) -> None:
    owner = Owner.objects.create(name="Альфа")
    for _ in range(3):
        notices.operation_failed(
            owner_id=owner.pk, context="import", error="Vendista 500: upstream"
        )
    notices.operation_failed(owner_id=owner.pk, context="import", error="Vendista timeout")
    assert _pending() == 2

    # Five minutes later the same failure is news again.
    AdminAlert.objects.update(created_at=F("created_at") - timedelta(seconds=301))
    assert alerts.record_failure(
        owner_id=owner.pk, context="import", error="Vendista 500: upstream"
    )
    assert _pending() == 3


def test_waiting_alerts_survive_a_redis_loss_and_the_sweep_sends_them(redis_client) -> None:
    owner = Owner.objects.create(name="Бета")
    notices.operation_failed(owner_id=owner.pk, context="import", error="HTTP 502 Bad Gateway")
    redis_client.flushdb()  # the outage: the queued flush and anything kept in Redis are gone

    # Not yet: the grouping minute has not passed.
    assert alerts.flush_due() == 0
    AdminAlert.objects.update(created_at=F("created_at") - timedelta(seconds=61))
    assert sweeps.run_all()["notifications.admin_alerts"] == 1

    (row,) = Delivery.objects.filter(template="admin_error")
    assert "HTTP 502 Bad Gateway" in row.text and "Бета" in row.text
    assert (row.status, row.recipient) == ("queued", ADMIN_CHAT)
    assert AdminAlert.objects.get().outcome == "queued"
    assert sweeps.run_all()["notifications.admin_alerts"] == 0  # sent once


def test_an_alert_recorded_in_a_rolled_back_transaction_is_not_kept(redis_client) -> None:
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        alerts.record_failure(owner_id=None, context="import", error="will roll back")
        raise RuntimeError
    assert not AdminAlert.objects.exists()


def test_failures_are_grouped_into_one_message_per_context_and_error(redis_client) -> None:
    owners = [Owner.objects.create(name=f"Точка {i}") for i in range(3)]
    for owner in owners:
        notices.operation_failed(
            owner_id=owner.pk, context=f"Import for User {owner.pk}", error="HTTP 502 Bad Gateway"
        )
    notices.operation_failed(owner_id=owners[0].pk, context="sync", error="timeout")

    rows = alerts.flush()

    assert len(rows) == 2
    grouped = next(r for r in rows if "ГРУППА ОШИБОК (3×)" in r.text)
    assert all(f"Точка {i}" in grouped.text for i in range(3))
    assert "HTTP 502 Bad Gateway" in grouped.text
    single = next(r for r in rows if r is not grouped)
    assert "🚨 ОШИБКА В vendkiosk 🚨" in single.text and "timeout" in single.text
    assert {r.recipient for r in rows} == {ADMIN_CHAT}
    assert _pending(redis_client) == 0
    assert alerts.flush() == []  # taken once


@pytest.mark.wall_clock
def test_at_most_twenty_alert_messages_an_hour(redis_client, settings) -> None:
    # Both flushes within one clock hour, even when the test runs at hh:59:59.
    hour = timezone.now()
    for i in range(25):
        notices.operation_failed(owner_id=None, context=f"context {i}", error=f"error {i}")
    assert len(alerts.flush(now=hour)) == 20
    notices.operation_failed(owner_id=None, context="late", error="still capped")
    assert alerts.flush(now=hour) == []
    assert Delivery.objects.count() == 20


def test_errors_are_html_escaped(redis_client) -> None:
    notices.operation_failed(owner_id=None, context="import", error="<html> & broken")
    (row,) = alerts.flush()
    assert "&lt;html&gt; &amp; broken" in row.text
