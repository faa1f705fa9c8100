"""Fleet figures read at scrape time by the web's /metrics: Celery queue lengths (Redis), the
beat leader's last tick, and the sweep's re-queues; the token guards the page."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client

from celery_app import app as celery_app
from core import metrics as core_metrics
from core import sweeps
from core.metrics import BEAT_TICK_KEY
from tests.foundation.test_beat_leader import scheduler
from tests.helpers.kiosk import metric_value

pytestmark = pytest.mark.django_db(transaction=True)
QUEUES = ("imports", "notifications", "reports", "default")


def scrape(client: Client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.content.decode()


def test_queue_lengths_are_the_messages_waiting_in_each_queue(client, redis_client) -> None:
    for queue in QUEUES:
        redis_client.delete(queue)
    for _ in range(3):
        celery_app.send_task("core.tasks.clear_expired_web_sessions", queue="notifications")
    celery_app.send_task("core.tasks.clear_expired_web_sessions", queue="reports")
    # A message with a priority waits under kombu's priority key of its queue.
    celery_app.send_task("core.tasks.clear_expired_web_sessions", queue="reports", priority=5)
    try:
        text = scrape(client)
        lengths = {q: metric_value(text, "celery_queue_length", queue=q) for q in QUEUES}
        assert lengths == {"imports": 0, "notifications": 3, "reports": 2, "default": 0}
        assert metric_value(text, "vendkiosk_collector_up", collector="celery") == 1
    finally:
        for queue in QUEUES:
            for key in redis_client.keys(f"{queue}*"):
                redis_client.delete(key)


def test_the_beat_leader_records_each_tick(client, redis_client) -> None:
    redis_client.delete(BEAT_TICK_KEY)
    assert "celery_beat_last_tick_timestamp_seconds" not in scrape(client)
    with time_machine.travel(1_800_000_000.0, tick=False), scheduler() as leader:
        leader.tick()
    assert leader.is_leader is False  # released on close
    text = scrape(client)
    assert metric_value(text, "celery_beat_last_tick_timestamp_seconds") == 1_800_000_000.0


def test_a_standby_beat_records_no_tick(client, redis_client) -> None:
    redis_client.delete(BEAT_TICK_KEY)
    redis_client.set("vk:beat:leader", "another-host", px=60_000)
    try:
        with scheduler() as standby:
            standby.tick()
            assert standby.is_leader is False
        assert "celery_beat_last_tick_timestamp_seconds" not in scrape(client)
    finally:
        redis_client.delete("vk:beat:leader")


def test_the_sweep_counts_what_it_requeued_and_its_failures(client, monkeypatch) -> None:
    def broken() -> int:
        raise RuntimeError("boom")

    # Two sweeps of our own beside the apps' (whose rows this test has none of).
    monkeypatch.setitem(sweeps._sweeps, "test.three", lambda: 3)
    monkeypatch.setitem(sweeps._sweeps, "test.broken", broken)
    before = scrape(client)
    assert sweeps.run_all()["test.three"] == 3
    sweeps.run_all()
    after = scrape(client)

    def delta(name: str, sweep: str) -> float:
        return metric_value(after, name, sweep=sweep) - metric_value(before, name, sweep=sweep)

    assert delta("core_sweep_requeued_total", "test.three") == 6
    assert delta("core_sweep_failures_total", "test.broken") == 2
    assert delta("core_sweep_requeued_total", "notifications.deliveries") == 0
    assert 'core_sweep_requeued_total{sweep="notifications.deliveries"}' in after


def test_metrics_need_the_token_when_one_is_set(client, settings) -> None:
    settings.METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert right.status_code == 200
    assert b"celery_queue_length" in right.content


def test_a_failing_collector_is_reported_and_spoils_nothing_else(client, monkeypatch) -> None:
    def broken() -> list[object]:
        raise RuntimeError("source unreachable")

    monkeypatch.setitem(core_metrics._collectors, "test.broken", broken)
    text = scrape(client)
    assert metric_value(text, "vendkiosk_collector_up", collector="test.broken") == 0
    assert metric_value(text, "vendkiosk_collector_up", collector="celery") == 1
    assert metric_value(text, "vendkiosk_collector_up", collector="vendista") == 1
    assert "celery_queue_length" in text and "vendista_import_lag_max_seconds" in text
