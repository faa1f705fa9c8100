"""Delivery outcomes per channel at /metrics: sent, a transient failure (retried later) and a
permanent one, over the Telegram sandbox."""

from __future__ import annotations

import pytest

from notifications import services
from notifications.models import Delivery
from tests.helpers.kiosk import metric_value
from tests.helpers.telegram import unique_chat_id

pytestmark = pytest.mark.django_db


def _queued(chat: int) -> Delivery:
    return Delivery.objects.create(
        recipient=str(chat), template="t", text="x", group_key=f"g{chat}", status="queued"
    )


def test_each_delivery_outcome_is_counted_per_channel(client, telegram_sandbox) -> None:
    ok, flaky, blocked = unique_chat_id(), unique_chat_id(), unique_chat_id()
    telegram_sandbox.block_chat(blocked)
    before = client.get("/metrics").content.decode()

    assert services.deliver(_queued(ok).pk).status == "sent"
    telegram_sandbox.fail_5xx(1)
    assert services.deliver(_queued(flaky).pk).status == "failed"
    assert services.deliver(_queued(blocked).pk).status == "permanently_failed"

    after = client.get("/metrics").content.decode()

    def delta(outcome: str) -> float:
        name, labels = "notifications_deliveries_total", {"channel": "telegram", "outcome": outcome}
        return metric_value(after, name, **labels) - metric_value(before, name, **labels)

    assert (delta("sent"), delta("failed"), delta("permanently_failed")) == (1, 1, 1)
    # Nothing counted for another channel (earlier tests in this process may have sent e-mail).
    name = "notifications_deliveries_total"
    assert metric_value(after, name, channel="email") == metric_value(before, name, channel="email")
