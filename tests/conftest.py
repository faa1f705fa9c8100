"""Fixtures over the real PostgreSQL and Redis (tests use Redis database 15: see pyproject)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator

import pytest
import redis
from celery.contrib.testing import tasks as _celery_testing_tasks  # noqa: F401 - registers ping
from celery.contrib.testing.worker import start_worker
from celery.worker import WorkController
from django.conf import settings

from celery_app import app as celery_app
from core.db import changes
from core.pii import mask_text

# The Telegram Bot API sandbox fixture, for every app whose notices reach Telegram; the
# `wall_clock` marker and `--at` option (tests that must pass at any hour).
pytest_plugins = ["tests.helpers.telegram", "tests.helpers.wall_clock"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> Iterator[None]:
    """pytest-django's test databases; before they are dropped, this process's LISTEN
    connections (core.db.changes) are closed, or PostgreSQL refuses to drop a database in use."""
    yield
    changes.stop_all()


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    """The test Redis database, emptied before the test."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def global_presets(db: None) -> None:
    """The 21 global recipe presets, loaded by the data migration's own function: a transactional
    test run earlier in this process (any order, under parallel runs) flushes migrated data."""
    from django.apps import apps

    migration = importlib.import_module("inventory.migrations.0003_global_presets")
    migration.load_presets(apps, None)


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


# --- Kiosks, payments and reports: no unmasked e-mail or phone in any log line -----------------


class _AllLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        if mask_text(line) != line:
            self.leaks.append(line[:300])


@pytest.fixture(scope="session", autouse=True)
def no_unmasked_pii_in_logs() -> Iterator[None]:
    """Every log line the suite produces (any logger, any level the root passes, exceptions
    included) is checked: an unmasked e-mail address or phone number fails the run."""
    handler = _AllLines()
    root = logging.getLogger()
    root.addHandler(handler)
    yield
    root.removeHandler(handler)
    assert not handler.leaks, f"log lines with unmasked PII: {handler.leaks[:5]}"
