"""A real Celery worker over the real Redis: tasks run, retry with backoff, and follow routes."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis as redis_lib
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from celery_app import app
from core.tasks import clear_expired_web_sessions

pytestmark = pytest.mark.worker

ATTEMPTS_KEY = "test:flaky:attempts"


class FlakyError(ConnectionError):
    pass


@app.task(
    bind=True,
    name="tests.flaky_task",
    autoretry_for=(FlakyError,),
    retry_backoff=1,
    retry_backoff_max=10,
    retry_jitter=False,
    max_retries=4,
)
def flaky_task(self, *, fail_times: int) -> dict:
    """Fails `fail_times` times with a transient error, then succeeds; records each attempt."""
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    client.rpush(ATTEMPTS_KEY, f"{self.request.retries}:{time.time()}")
    if self.request.retries < fail_times:
        raise FlakyError("transient")
    return {"retries": self.request.retries}


@app.task(bind=True, name="reports.tasks.probe_routing")
def report_probe(self) -> str:
    return str(self.request.delivery_info.get("routing_key"))


@app.task(bind=True, name="vendista.tasks.probe_routing")
def import_probe(self) -> str:
    return str(self.request.delivery_info.get("routing_key"))


@app.task(bind=True, name="tests.default_probe")
def default_probe(self) -> str:
    return str(self.request.delivery_info.get("routing_key"))


def test_celery_is_configured_for_crash_safe_json_work() -> None:
    conf = app.conf
    assert conf.broker_url.startswith("redis://")
    assert conf.accept_content == ["json"]
    assert conf.task_serializer == "json"
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.worker_send_task_events is True
    assert {q.name for q in conf.task_queues} == {"imports", "notifications", "reports", "default"}
    assert conf.beat_scheduler == "core.scheduler:LeaderScheduler"
    assert conf.broker_transport == "core.broker:Transport"


@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_project_task(celery_worker) -> None:
    stale = SessionStore()
    stale.create()
    Session.objects.filter(pk=stale.session_key).update(
        expire_date=timezone.now() - timedelta(days=1)
    )
    fresh = SessionStore()
    fresh.create()

    deleted = clear_expired_web_sessions.delay().get(timeout=20)

    assert deleted == 1
    assert not Session.objects.filter(pk=stale.session_key).exists()
    assert Session.objects.filter(pk=fresh.session_key).exists()


def test_failing_task_is_retried_with_growing_backoff(celery_worker, redis_client) -> None:
    result = flaky_task.delay(fail_times=2)

    assert result.get(timeout=30) == {"retries": 2}
    attempts = [entry.decode().split(":") for entry in redis_client.lrange(ATTEMPTS_KEY, 0, -1)]
    assert [int(n) for n, _ in attempts] == [0, 1, 2]
    started = [float(t) for _, t in attempts]
    # retry_backoff=1 without jitter: the retries wait 1 s, then 2 s — never less.
    assert started[1] - started[0] >= 0.95
    assert started[2] - started[1] >= 1.95


def test_tasks_land_on_their_routed_queues(celery_worker) -> None:
    assert report_probe.delay().get(timeout=20) == "reports"
    assert import_probe.delay().get(timeout=20) == "imports"
    assert default_probe.delay().get(timeout=20) == "default"
    assert clear_expired_web_sessions.name == "core.tasks.clear_expired_web_sessions"
    route = app.amqp.router.route({}, clear_expired_web_sessions.name)
    assert route["queue"].name == "default"
