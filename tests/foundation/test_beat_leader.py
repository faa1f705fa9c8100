"""Beat: exactly one leader sends (a second beat stands by and takes over), entries expire as
configured, and admin edits of a code-defined entry survive a restart."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from celery_app import app
from config.beat import SCHEDULE
from core.scheduler import DATABASE_RETRY_S, LEADER_KEY, LeaderScheduler
from tests.helpers.worker import ROOT, worker_environment

pytestmark = pytest.mark.django_db(transaction=True)
PROBE = "tests.beat_probe"


@contextmanager
def scheduler() -> Iterator[LeaderScheduler]:
    beat = LeaderScheduler(app=app)
    try:
        yield beat
    finally:
        beat._finalize()
        beat.close()


def probe_entry(every_s: int = 1) -> PeriodicTask:
    interval, _ = IntervalSchedule.objects.get_or_create(every=every_s, period="seconds")
    return PeriodicTask.objects.create(
        name="probe",
        task=PROBE,
        interval=interval,
        queue="default",
        expire_seconds=30,
        last_run_at=timezone.now() - timedelta(minutes=1),
    )


def sent(redis_client: Any, task: str = PROBE) -> list[dict[str, Any]]:
    messages = [json.loads(raw) for raw in redis_client.lrange("default", 0, -1)]
    return [m for m in messages if m["headers"]["task"] == task]


def tick_all(*beats: LeaderScheduler) -> None:
    for beat in beats:
        for _ in range(20):
            if beat.tick() != 0:
                break


def test_admin_edits_of_a_code_entry_survive_a_restart() -> None:
    with scheduler():
        pass
    daily = PeriodicTask.objects.get(name="vendista-import-daily")
    assert (daily.crontab.minute, daily.crontab.hour) == ("0", "3")
    # Staff re-time it to 02:30 and pause another one.
    daily.crontab = CrontabSchedule.objects.create(
        minute="30", hour="2", timezone=daily.crontab.timezone
    )
    daily.expire_seconds = 1200
    daily.save()
    PeriodicTask.objects.filter(name="vendista-import-weekly").update(enabled=False)
    # ... while the code changed what an entry runs: that is the code's to say.
    PeriodicTask.objects.filter(name="vendista-import-15min").update(kwargs="{}")

    with scheduler():  # beat restarts
        pass

    daily.refresh_from_db()
    assert (daily.crontab.minute, daily.crontab.hour) == ("30", "2")
    assert daily.expire_seconds == 1200
    assert PeriodicTask.objects.get(name="vendista-import-weekly").enabled is False
    tick = PeriodicTask.objects.get(name="vendista-import-15min")
    assert json.loads(tick.kwargs) == SCHEDULE["vendista-import-15min"]["kwargs"]


def test_entries_expire_as_configured_in_code(redis_client) -> None:
    with scheduler() as beat:
        stored = {t.name: t.expire_seconds for t in PeriodicTask.objects.all()}
        for name, entry in SCHEDULE.items():
            assert stored[name] == entry["options"]["expire_seconds"], name
        probe_entry()
        beat._initial_read = True
        tick_all(beat)
    messages = sent(redis_client)
    assert messages, "the probe was not sent"
    assert messages[0]["headers"]["expires"] is not None


def test_a_second_scheduler_stands_by_and_takes_over(redis_client, settings) -> None:
    settings.BEAT_LEADER_TTL = 2
    probe_entry()
    with scheduler() as first, scheduler() as second:
        tick_all(first)
        sent_by_first = len(sent(redis_client))
        assert first.is_leader and sent_by_first >= 1
        tick_all(second)
        assert not second.is_leader
        assert len(sent(redis_client)) == sent_by_first, "the standby sent"
        # The leader dies (its lock lapses); the standby takes over on its next tick.
        redis_client.delete(LEADER_KEY)
        tick_all(second)
        assert second.is_leader
        after_takeover = len(sent(redis_client))
        tick_all(first)  # the old leader finds the lock gone to another: it sends nothing
        assert not first.is_leader
        assert len(sent(redis_client)) == after_takeover, "the old leader sent"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def database_down() -> Iterator[Any]:
    """PostgreSQL unreachable for this thread's connection (nothing listens on its port) until
    the yielded `up()` is called or the block ends."""
    conn = connections["default"]  # this thread's connection (`up` may run in another)
    original = conn.settings_dict
    conn.close()
    conn.settings_dict = {**original, "PORT": str(_closed_port())}

    def up() -> None:
        conn.settings_dict.update(PORT=original["PORT"])

    try:
        yield up
    finally:
        conn.close()
        conn.settings_dict = original


def test_beat_started_while_the_database_is_down_waits_for_it(redis_client) -> None:
    started = time.monotonic()
    with database_down() as up:
        threading.Timer(3 * DATABASE_RETRY_S, up).start()
        beat = LeaderScheduler(app=app)  # used to exit: "beat raised exception OperationalError"
    try:
        assert time.monotonic() - started >= 3 * DATABASE_RETRY_S
        assert PeriodicTask.objects.filter(name="sweep-due-work").exists()
    finally:
        beat._finalize()
        beat.close()


def test_beat_that_loses_the_database_mid_tick_reads_the_schedule_again(redis_client) -> None:
    probe_entry()
    with scheduler() as beat:
        with database_down():
            # A new leader reads the schedule first: the database is gone meanwhile.
            assert beat.tick() <= DATABASE_RETRY_S
            assert beat.is_leader and not sent(redis_client)
        tick_all(beat)
        assert sent(redis_client), "the probe was not sent once the database was back"


def _beat(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_app", "beat", "-l", "info"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _leader_pid(redis_client: Any) -> int | None:
    value = redis_client.get(LEADER_KEY)
    return int(value.decode().split(":")[1]) if value else None


@pytest.mark.worker
def test_two_real_beats_send_each_tick_once_and_the_standby_takes_over(redis_client) -> None:
    probe_entry(every_s=1)
    env = worker_environment(BEAT_LEADER_TTL="3")
    beats: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as folder:
        try:
            beats.append(_beat(env, Path(folder) / "a.log"))
            _wait(lambda: len(sent(redis_client)) >= 2, 60, "the first beat to send")
            beats.append(_beat(env, Path(folder) / "b.log"))
            _wait(lambda: b"Starting" in (Path(folder) / "b.log").read_bytes(), 60, "beat b")
            assert _leader_pid(redis_client) == beats[0].pid

            started, before = time.monotonic(), len(sent(redis_client))
            time.sleep(6)  # both beats run: a measuring window, not a wait for a state
            both = len(sent(redis_client)) - before
            elapsed = time.monotonic() - started
            assert both <= elapsed + 2, f"{both} sends in {elapsed:.1f} s: two beats send"

            os.killpg(beats[0].pid, signal.SIGKILL)
            beats[0].wait(timeout=10)
            killed_at, at_kill = time.monotonic(), len(sent(redis_client))
            _wait(lambda: _leader_pid(redis_client) == beats[1].pid, 15, "the standby to lead")
            _wait(lambda: len(sent(redis_client)) > at_kill + 1, 15, "the standby to send")
            assert time.monotonic() - killed_at < 2 * 3 + 5
        finally:
            for beat in beats:
                if beat.poll() is None:
                    os.killpg(beat.pid, signal.SIGTERM)
                    beat.wait(timeout=20)
