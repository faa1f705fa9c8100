"""Import failures reach the operators' chat de-duplicated (5 minutes, Redis), grouped, and
capped per hour — as the original's admin error notifier."""

from __future__ import annotations

import pytest
from django.utils import timezone

from notifications import alerts
from notifications.models import Delivery
from tenancy.models import Owner
from vendista import notices

from .conftest import ADMIN_CHAT

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _admin_chat(settings, redis_client):
    settings.ADMIN_TELEGRAM_CHAT_ID = ADMIN_CHAT
    return redis_client


def _pending(redis_client) -> int:
    return int(redis_client.llen("vk:alerts:pending"))


def test_identical_failures_within_five_minutes_are_dropped(redis_client) -> None:
    owner = Owner.objects.create(name="Альфа")
    for _ in range(3):
        notices.operation_failed(
            owner_id=owner.pk, context="import", error="Vendista 500: upstream"
        )
    notices.operation_failed(owner_id=owner.pk, context="import", error="Vendista timeout")
    assert _pending(redis_client) == 2
    assert int(redis_client.ttl(next(iter(redis_client.scan_iter("vk:alerts:dedup:*"))))) <= 300


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
