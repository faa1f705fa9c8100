"""Domain metrics counted in a forked Celery worker show up at the web process's /metrics
(prometheus_client multiprocess mode), as in production: gunicorn + a prefork worker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings

from celery_app import app as celery_app
from tests.helpers.kiosk import make_kiosk, metric_value, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def stack(tmp_path, redis_client) -> Iterator[str]:
    """gunicorn (2 workers) and a prefork Celery worker sharing one multiprocess directory,
    both on the test database."""
    db = django_settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": django_settings.REDIS_URL,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "DB_CONN_MAX_AGE": "0",
    }
    env.pop("REDIS_DB", None)
    (tmp_path / "prom").mkdir()
    port = _free_port()
    hostname = f"metrics-test-{port}@{socket.gethostname()}"
    bin_dir = Path(sys.executable).parent
    web = subprocess.Popen(
        [
            str(bin_dir / "gunicorn"),
            "config.wsgi",
            "--config",
            "deploy/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [
            str(bin_dir / "celery"),
            "-A",
            "celery_app",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--queues=default,reports",
            "--loglevel=WARNING",
            f"--hostname={hostname}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base), timeout=30)
        # Both up before the test's clock starts: a slow start is not a slow confirmation.
        wait_for(lambda: celery_app.control.ping([hostname], timeout=1.0), timeout=60)
        yield base
    finally:
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/metrics", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_counter_incremented_in_a_worker_process_is_served_at_metrics(stack: str) -> None:
    k = make_kiosk()
    headers = {"Authorization": f"Kiosk {k.token}"}
    session = requests.post(
        f"{stack}/api/sessions",
        json={"type": "thickness", "contact": {"phone": "+79161234567"}},
        headers=headers,
        timeout=10,
    ).json()
    intent = requests.post(
        f"{stack}/api/payments/intent",
        json={"session_id": session["id"]},
        headers=headers,
        timeout=10,
    ).json()
    started = time.monotonic()
    wait_for(
        lambda: (
            requests.get(
                f"{stack}/api/payments/status/{intent['id']}", headers=headers, timeout=5
            ).json()["status"]
            == "succeeded"
        ),
        timeout=30,
    )
    assert time.monotonic() - started < 15

    text = requests.get(f"{stack}/metrics", timeout=5).text
    # Confirmed by the DEV emulator task in the forked worker, served by a gunicorn worker.
    assert metric_value(text, "payments_confirmed_total", provider="dev") == 1
    assert metric_value(text, "payments_intents_total") == 1
    assert metric_value(text, "sessions_created_total", type="thickness") == 1
    assert metric_value(text, "sessions_active") == 1
