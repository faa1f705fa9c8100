"""Fixtures over the real PostgreSQL and Redis (tests use Redis database 15: see pyproject)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from celery.contrib.testing import tasks as _celery_testing_tasks  # noqa: F401 - registers ping
from celery.contrib.testing.worker import start_worker
from celery.worker import WorkController
from django.conf import settings

from celery_app import app as celery_app


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    """The test Redis database, emptied before the test."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="module")
def celery_worker(django_db_setup: None) -> Iterator[WorkController]:
    """A real Celery worker (threads pool) consuming every queue of the real Redis broker,
    for the tests of one module; it stops when they are done.

    Tests that make it touch the database must be transactional (`django_db(transaction=True)`)
    so the worker's own connection sees their rows.
    """
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    client.close()
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=4,
        queues=[queue.name for queue in celery_app.conf.task_queues],
        perform_ping_check=True,
        shutdown_timeout=15,
    ) as worker:
        yield worker
