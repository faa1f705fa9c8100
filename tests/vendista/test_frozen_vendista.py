"""The owner lock never lapses under a live import: with the Vendista sandbox frozen (SIGSTOP)
for three lock lifetimes, a second run of the owner waits instead of importing alongside."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from sandboxes.vendista import generate_account
from tests.helpers.worker import ROOT, WorkerProcess, worker_environment
from tests.vendista.coffee import configure, connect_owner, sync, window
from tests.vendista.conftest import LAST_DAY
from vendista.models import ImportRun, RunStatus
from vendista.services import runs
from vendista.services.lock import OwnerLock

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
LOCK_TTL = 5
ACCOUNT: dict[str, Any] = {
    "login": "frozen-shop",
    "password": "frozen-pw",
    "seed": "frozen",
    "terminals": 3,
    "days": 2,
    "per_day": 600,
    "machine_items": 6,
    "end": LAST_DAY.isoformat(),
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Any, timeout: float, what: str, state: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}: {state() if state else ''}")


@pytest.fixture
def sandbox_process(settings: Any, redis_client: Any) -> Iterator[tuple[str, int]]:
    """The Vendista sandbox in its own process (so it can be frozen), with a generated shop."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandboxes.vendista", "--port", str(port), "--latency", "0.3"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url), 30, "the sandbox")
        requests.post(f"{url}/_sandbox/accounts", json=ACCOUNT, timeout=30).raise_for_status()
        settings.VENDISTA_API_URL = url
        settings.VENDISTA_PAGE_SIZE = 100
        settings.VENDISTA_RATE_PER_TOKEN = settings.VENDISTA_RATE_GLOBAL = 1000.0
        yield url, process.pid
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
        process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/_sandbox/faults", timeout=1).ok
    except requests.RequestException:
        return False


def test_a_frozen_vendista_never_lets_a_second_run_import_alongside(sandbox_process):
    shop = generate_account(
        ACCOUNT["login"],
        ACCOUNT["password"],
        seed="frozen",
        terminals=3,
        days=2,
        per_day=600,
        machine_items=6,
        end=LAST_DAY,
    )
    owner = connect_owner(shop)
    sync(owner)
    configure(owner)
    url, sandbox_pid = sandbox_process
    worker = WorkerProcess(
        worker_environment(
            VENDISTA_API_URL=url,
            VENDISTA_PAGE_SIZE="100",
            VENDISTA_RATE_PER_TOKEN="1000",
            VENDISTA_RATE_GLOBAL="1000",
            VENDISTA_LOCK_TTL=str(LOCK_TTL),
            VENDISTA_MAX_WAIT="2",
            VENDISTA_BUSY_RETRY_SECONDS="0.5",
        ),
        queues="imports",
        concurrency=2,
    ).start()
    lock = OwnerLock(owner.pk, "probe")
    try:
        first = runs.enqueue(
            owner.pk, window=window(LAST_DAY - timedelta(days=1), LAST_DAY), trigger="t"
        )
        assert first is not None
        wait_for(
            lambda: ImportRun.objects.get(pk=first).pages_done >= 2,
            60,
            "the first pages",
            lambda: ImportRun.objects.filter(pk=first).values()[0],
        )
        os.kill(sandbox_pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        second = runs.enqueue(
            owner.pk,
            window=window(LAST_DAY - timedelta(days=5), LAST_DAY),
            trigger="t",
            skip_if_active=False,
        )
        assert second is not None
        holders = set()
        while time.monotonic() - frozen_at < 3 * LOCK_TTL:
            holders.add(lock.holder())
            assert ImportRun.objects.get(pk=second).status == RunStatus.QUEUED, (
                "the second run started while the first was alive"
            )
            time.sleep(0.2)
        assert len(holders) == 1 and str(next(iter(holders))).startswith(f"run:{first}:")
        os.kill(sandbox_pid, signal.SIGCONT)
        wait_for(
            lambda: ImportRun.objects.get(pk=second).status == RunStatus.SUCCEEDED,
            120,
            "both runs to finish",
        )
    finally:
        os.kill(sandbox_pid, signal.SIGCONT)
        worker.stop()
    a, b = ImportRun.objects.get(pk=first), ImportRun.objects.get(pk=second)
    assert a.status == RunStatus.SUCCEEDED and a.attempts == 1
    assert a.finished_at is not None and b.started_at is not None
    assert b.started_at >= a.finished_at, "the two runs imported side by side"
