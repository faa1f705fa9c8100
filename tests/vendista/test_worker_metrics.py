"""A worker host serves its own metrics: a real Celery worker with `WORKER_METRICS_PORT` runs an
import against the Vendista sandbox in its pool process, and its port answers (behind the token)
with what that process counted, merged from the host's multiprocess directory."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from tests.helpers.kiosk import metric_value
from tests.helpers.net import free_port
from tests.helpers.net import wait_answering as _wait
from tests.helpers.worker import WorkerProcess, worker_environment
from tests.vendista.coffee import connect_owner, sync, window
from tests.vendista.conftest import LAST_DAY
from vendista.models import ImportRun
from vendista.services import runs

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
TOKEN = "worker-scrape-secret"


def _dead_process_samples(directory: Path) -> int:
    """A process that counted and set a live gauge, then exited without cleaning up."""
    code = (
        "from prometheus_client import Counter, Gauge\n"
        "Counter('probe_counted', 'h').inc(2)\n"
        "Gauge('probe_live', 'h', multiprocess_mode='livesum').set(5)\n"
        "import os; print(os.getpid())\n"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_a_worker_serves_its_pool_processes_metrics_on_its_port(sandbox, tmp_path) -> None:
    owner = connect_owner(sandbox.account("shop-login"))
    sync(owner)
    sandbox.reset_request_log()
    directory = tmp_path / "prom"
    directory.mkdir()
    dead = _dead_process_samples(directory)
    assert (directory / f"gauge_livesum_{dead}.db").exists()
    port = free_port()
    worker = WorkerProcess(
        worker_environment(
            PROMETHEUS_MULTIPROC_DIR=str(directory),
            WORKER_METRICS_PORT=str(port),
            METRICS_TOKEN=TOKEN,
            VENDISTA_API_URL=sandbox.url,
            VENDISTA_PAGE_SIZE="100",
            VENDISTA_RATE_PER_TOKEN="1000",
            VENDISTA_RATE_GLOBAL="1000",
        ),
        queues="imports",
    ).start()
    url = f"http://127.0.0.1:{port}/metrics"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        _wait(lambda: requests.get(url, headers=auth, timeout=2).ok, 60, "the worker's port")
        # The dead process's live gauge was dropped at start; its counter still counts.
        assert not (directory / f"gauge_livesum_{dead}.db").exists()
        first = requests.get(url, headers=auth, timeout=5).text
        assert metric_value(first, "probe_counted_total") == 2
        assert "probe_live" not in first
        assert requests.get(url, timeout=5).status_code == 401
        assert (
            requests.get(url, headers={"Authorization": "Bearer x"}, timeout=5).status_code == 401
        )

        run_id = runs.enqueue(
            owner.pk, window=window(LAST_DAY - timedelta(days=2), LAST_DAY), trigger="test"
        )
        assert run_id is not None
        _wait(lambda: ImportRun.objects.get(pk=run_id).status == "succeeded", 90, "the import")
        run = ImportRun.objects.get(pk=run_id)
        pages = len(sandbox.request_log("/transactions"))
        assert run.pages_done == pages > 1

        text = requests.get(url, headers=auth, timeout=5).text
        assert metric_value(text, "vendista_import_pages_total") == pages
        assert (
            metric_value(text, "vendista_requests_total", endpoint="/transactions", status="200")
            == pages
        )
        assert metric_value(text, "vendista_import_transactions_inserted_total") == run.inserted
        assert metric_value(text, "vendista_runs_finished_total", status="succeeded") == 1
        # Fleet figures are the web's to read, once per scrape: not served by a worker.
        assert "celery_queue_length" not in text
    finally:
        worker.stop()
    # The worker's port closes with it.
    with pytest.raises(requests.ConnectionError):
        requests.get(url, headers=auth, timeout=2)
