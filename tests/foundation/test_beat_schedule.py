"""The beat schedule from config/beat.py, through django-celery-beat's database scheduler."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from celery import Celery
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from celery_app import app
from config.beat import SCHEDULE, moscow_crontab
from core.scheduler import LeaderScheduler

MOSCOW = ZoneInfo("Europe/Moscow")
CODE_ENTRY = "clear-expired-web-sessions"  # config/beat.py: every day at 03:30 Moscow time
TASK = SCHEDULE[CODE_ENTRY]["task"]


def _queued(redis_client, task: str) -> int:
    raw = redis_client.lrange("default", 0, -1)
    return [json.loads(message)["headers"]["task"] for message in raw].count(task)


@contextmanager
def scheduler_for(celery_app: Celery) -> Iterator[LeaderScheduler]:
    """A database scheduler whose final sync runs now, while the test database exists (it
    registers a multiprocessing finalizer that would otherwise sync at interpreter exit)."""
    scheduler = LeaderScheduler(app=celery_app)
    try:
        yield scheduler
    finally:
        scheduler._finalize()
        scheduler.close()


def _tick_until_idle(scheduler: LeaderScheduler) -> None:
    # tick() applies at most one due entry per call and answers 0 while more are due (every
    # minute-entry of config/beat.py is due at once after a clock jump: room for all of them).
    for _ in range(200):
        if scheduler.tick() != 0:
            return


@pytest.mark.django_db(transaction=True)
def test_schedule_is_loaded_into_the_database_with_moscow_crontabs() -> None:
    with (
        time_machine.travel(datetime(2026, 11, 29, 12, 0, tzinfo=MOSCOW), tick=False),
        scheduler_for(app),
    ):
        pass

    stored = PeriodicTask.objects.select_related("crontab").get(name=CODE_ENTRY)
    assert stored.task == TASK
    assert stored.enabled
    assert str(stored.crontab.timezone) == "Europe/Moscow"
    assert (stored.crontab.minute, stored.crontab.hour) == ("30", "3")


def test_moscow_crontab_keeps_moscow_time_under_an_app_in_another_zone() -> None:
    schedule = moscow_crontab(minute="0", hour="3")
    schedule.app = Celery("elsewhere", set_as_current=False, timezone="UTC")
    assert schedule.tz == MOSCOW
    now = datetime(2026, 11, 29, 12, 0, tzinfo=MOSCOW)
    with time_machine.travel(now, tick=False):
        remaining = schedule.remaining_estimate(datetime(2026, 11, 29, 3, 0, tzinfo=MOSCOW))
    # Next run: 03:00 Moscow tomorrow (00:00 UTC), not 03:00 UTC (06:00 Moscow).
    assert now + remaining == datetime(2026, 11, 30, 3, 0, tzinfo=MOSCOW)


def _staff_entry() -> str:
    """A 03:30 Moscow entry made in the admin: it lives only in the database."""
    crontab = CrontabSchedule.objects.create(minute="30", hour="3", timezone=MOSCOW)
    PeriodicTask.objects.create(
        name="staff-made 03:30", task="tests.staff_probe", crontab=crontab, queue="default"
    )
    return "tests.staff_probe"


@pytest.mark.parametrize("server_time_zone", ["Europe/Moscow", "UTC", "America/New_York"])
@pytest.mark.parametrize("origin", ["config/beat.py", "admin"])
@pytest.mark.django_db(transaction=True)
def test_moscow_crontab_hours_away_fires_at_the_right_instant(
    redis_client, settings, server_time_zone: str, origin: str
) -> None:
    """Beat starts at 22:00 Moscow; a 03:30 Moscow entry fires at 03:30, not a moment before.

    django-celery-beat 2.8 pre-filters crontabs by the hours around "now" and never reloads an
    entry it filtered out (it would stay silent forever); 2.9 re-reads every 5 minutes. 03:30
    Moscow is 00:30 UTC, so a scheduler that read the crontab in the server's zone would fire
    hours off. Whatever the server's own TIME_ZONE, the entry fires once, at 03:30 Moscow.
    """
    settings.TIME_ZONE = server_time_zone
    with time_machine.travel(datetime(2026, 11, 29, 22, 0, tzinfo=MOSCOW), tick=False) as clock:
        task = TASK if origin == "config/beat.py" else _staff_entry()
        with scheduler_for(app) as scheduler:
            _tick_until_idle(scheduler)
            assert _queued(redis_client, task) == 0

            for hour, minute in [(0, 0), (1, 0), (2, 0), (3, 0), (3, 29)]:
                clock.move_to(datetime(2026, 11, 30, hour, minute, 50, tzinfo=MOSCOW))
                _tick_until_idle(scheduler)
            assert _queued(redis_client, task) == 0, "fired before 03:30 Moscow"

            clock.move_to(datetime(2026, 11, 30, 3, 30, 1, tzinfo=MOSCOW))
            _tick_until_idle(scheduler)
            assert _queued(redis_client, task) == 1, "did not fire at 03:30 Moscow"

            clock.move_to(datetime(2026, 11, 30, 3, 45, tzinfo=MOSCOW))
            _tick_until_idle(scheduler)
            assert _queued(redis_client, task) == 1, "fired twice"
