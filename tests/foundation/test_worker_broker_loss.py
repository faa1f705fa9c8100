"""A real worker outlives its Redis: SIGKILL a private redis-server while an import task runs,
start it again, three times; the worker keeps running, finishes the task and takes new ones.

Without `core.broker.Transport` the worker exits on such a loss ("Restoring 1 unacknowledged
message(s)", then `CRITICAL Unrecoverable error: AttributeError("'NoneType' object has no
attribute 'hostname'")`).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from django.utils import timezone

from sandboxes.vendista import VendistaSandbox, generate_account
from tests.helpers.worker import WorkerProcess, worker_environment
from tests.vendista.coffee import configure, connect_owner, sync, window
from vendista.models import ImportRun, RunStatus
from vendista.services import runs

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
REDIS_ARGS = ["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class PrivateRedis:
    """A redis-server of our own (AOF on, as deployed), to SIGKILL and start again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        where = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        self.process = subprocess.Popen(
            [binary, *where, *REDIS_ARGS],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), 20, "redis-server")
        client.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.kill()


@pytest.fixture
def slow_sandbox(settings: Any, redis_client: Any) -> Iterator[VendistaSandbox]:
    today = timezone.localtime().date()
    shop = generate_account(
        "broker-shop", "broker-pw", seed="broker", terminals=2, days=1, per_day=150,
        end=today - timedelta(days=1),
    )  # fmt: skip
    with VendistaSandbox(accounts=[shop]) as server:
        settings.VENDISTA_API_URL = server.url
        settings.VENDISTA_PAGE_SIZE = 100
        settings.VENDISTA_RATE_PER_TOKEN = settings.VENDISTA_RATE_GLOBAL = 1000.0
        yield server


def test_the_worker_survives_redis_dying_mid_task_and_keeps_consuming(slow_sandbox, private_redis):
    owner = connect_owner(slow_sandbox.account("broker-shop"))
    sync(owner)
    configure(owner)
    # Each page answer takes 2.5 s: Redis dies and comes back while the task waits for one.
    slow_sandbox.set_faults(latency_s=2.5)
    worker = WorkerProcess(
        worker_environment(
            REDIS_URL=private_redis.url,
            VENDISTA_API_URL=slow_sandbox.url,
            VENDISTA_PAGE_SIZE="100",
            VENDISTA_RATE_PER_TOKEN="1000",
            VENDISTA_RATE_GLOBAL="1000",
        ),
        queues="imports",
        # Two pool slots, as deployed: with one, the loss happened not to crash it.
        concurrency=2,
    ).start()
    broker = Celery("broker-loss-test", broker=private_redis.url, set_as_current=False)
    broker.conf.broker_transport = "core.broker:Transport"
    yesterday = timezone.localtime().date() - timedelta(days=1)
    try:
        for cycle in range(3):
            run = runs.create_run(
                owner.pk, window=window(yesterday, yesterday), trigger=f"t{cycle}"
            )
            assert run is not None
            broker.send_task(
                "vendista.tasks.execute_run", kwargs={"run_id": run.pk}, queue="imports"
            )
            wait_for(
                lambda run=run: ImportRun.objects.get(pk=run.pk).status == RunStatus.RUNNING,
                60,
                "the task to start",
            )
            time.sleep(0.7)  # into the first page's wait
            private_redis.kill()
            time.sleep(1.0)
            private_redis.start()
            wait_for(
                lambda run=run: ImportRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED,
                90,
                f"the run of cycle {cycle} to finish",
            )
            assert worker.process is not None and worker.process.poll() is None, (
                f"the worker exited after Redis loss {cycle + 1}"
            )
    finally:
        worker.stop()
        broker.close()
