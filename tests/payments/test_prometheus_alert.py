"""A real Prometheus (Debian's `prometheus`) scrapes a live stack and fires the seed's
`HighPaymentFailureRate` from real traffic.

The stack is the production split: gunicorn (the web, where the kiosk API creates the intents)
and a Celery worker with its own multiprocess directory and metrics port (where the YooKassa
notifications are processed and the cancelled payments counted), both behind METRICS_TOKEN.
Prometheus scrapes both every second with deploy/prometheus/alerts.yml exactly as shipped
(the rule has no `for:`, so nothing needs shortening) and evaluates every second. The alert
fires only if its expression joins failures counted on one target with intents counted on
another, which is what a fleet of web and worker hosts needs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from sandboxes.yookassa import YooKassaSandbox, notification
from tests.helpers.kiosk import make_kiosk
from tests.helpers.net import free_port
from tests.helpers.net import wait_answering as _wait
from tests.helpers.worker import ROOT, WorkerProcess, worker_environment

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
TOKEN = "prometheus-scrape-secret"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def yookassa() -> Iterator[YooKassaSandbox]:
    box = YooKassaSandbox().start()
    yield box
    box.stop()


@pytest.fixture
def stack(tmp_path: Path, yookassa: YooKassaSandbox, redis_client: Any) -> Iterator[dict[str, str]]:
    """gunicorn and a Celery worker (separate metrics directories, as on separate hosts) on the
    test database and Redis, paying through the YooKassa sandbox, and a Prometheus scraping
    both."""
    common = {
        "METRICS_TOKEN": TOKEN,
        "PAYMENTS_PROVIDER": "yookassa",
        "YOOKASSA_SHOP_ID": "123456",
        "YOOKASSA_SECRET_KEY": "test_sandbox_secret",
        "YOOKASSA_API_URL": yookassa.api_url,
        "YOOKASSA_HTTP_TIMEOUT_S": "5",
        "YOOKASSA_WEBHOOK_IPS": "127.0.0.1",  # the test posts YooKassa's notifications
        "MEDIA_ROOT": str(tmp_path / "media"),
        "DB_CONN_MAX_AGE": "0",
    }
    web_dir, worker_dir = tmp_path / "prom-web", tmp_path / "prom-worker"
    web_dir.mkdir()
    worker_dir.mkdir()
    web_port, worker_port, prom_port = free_port(), free_port(), free_port()
    web = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "--config",
            "deploy/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{web_port}",
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env=worker_environment(PROMETHEUS_MULTIPROC_DIR=str(web_dir), **common),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = WorkerProcess(
        worker_environment(
            PROMETHEUS_MULTIPROC_DIR=str(worker_dir), WORKER_METRICS_PORT=str(worker_port), **common
        ),
        queues="default",
    ).start()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS)],
        "scrape_configs": [
            {
                "job_name": job,
                "metrics_path": "/metrics",
                "authorization": {"type": "Bearer", "credentials": TOKEN},
                "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
            }
            for job, port in (("vendkiosk", web_port), ("vendkiosk-worker", worker_port))
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    binary = shutil.which("prometheus")
    assert binary, "prometheus missing: deploy/local/system-libs.sh --tests installs it"
    prometheus = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    urls = {
        "web": f"http://127.0.0.1:{web_port}",
        "worker": f"http://127.0.0.1:{worker_port}",
        "prometheus": f"http://127.0.0.1:{prom_port}",
    }
    try:
        _wait(lambda: requests.get(f"{urls['prometheus']}/-/ready", timeout=2).ok, 60, "prometheus")
        yield urls
    finally:
        _stop(prometheus)
        _stop(web)
        worker.stop()


def _api(prometheus: str, path: str, **params: str) -> Any:
    answer = requests.get(f"{prometheus}/api/v1/{path}", params=params, timeout=5).json()
    assert answer["status"] == "success", answer
    return answer["data"]


def _targets_up(prometheus: str) -> dict[str, str]:
    active = _api(prometheus, "targets")["activeTargets"]
    return {target["labels"]["job"]: target["health"] for target in active}


def _payment_alert(prometheus: str) -> dict[str, Any] | None:
    for alert in _api(prometheus, "alerts")["alerts"]:
        if alert["labels"]["alertname"] == "HighPaymentFailureRate":
            return dict(alert)
    return None


def _intent(web: str, kiosk_token: str) -> str:
    """A client starts paying on the kiosk: the provider's payment id."""
    headers = {"Authorization": f"Kiosk {kiosk_token}"}
    session = requests.post(
        f"{web}/api/sessions",
        json={"type": "diagnostics", "contact": {"email": "client@example.com"}},
        headers=headers,
        timeout=10,
    ).json()
    intent = requests.post(
        f"{web}/api/payments/intent",
        json={"session_id": session["id"]},
        headers=headers,
        timeout=10,
    )
    assert intent.status_code == 201, intent.text
    return str(intent.json()["provider_payment_id"])


def _declined(web: str, yookassa: YooKassaSandbox, payment_id: str) -> None:
    """The bank declines the payment; YooKassa notifies us (the worker applies it)."""
    yookassa.set_status(payment_id, "canceled", "insufficient_funds")
    notice = notification("payment.canceled", yookassa.public(payment_id))
    answer = requests.post(f"{web}/api/payments/webhook", json=notice, timeout=10)
    assert answer.status_code == 200, answer.text


def _scraped_failures(prometheus: str) -> float:
    result = _api(
        prometheus, "query", query='sum(payments_failed_total{reason="insufficient_funds"})'
    )
    return float(result["result"][0]["value"][1]) if result["result"] else 0.0


def _evaluations_after(prometheus: str, count: int) -> None:
    """Wait until the alert rules were evaluated `count` more times."""

    def last() -> str:
        groups = _api(prometheus, "rules")["groups"]
        return str(next(g for g in groups if g["name"] == "kiosk-agent")["lastEvaluation"])

    seen = {last()}
    deadline = time.monotonic() + 30
    while len(seen) <= count:
        assert time.monotonic() < deadline, "the rules are not evaluated"
        time.sleep(0.2)
        seen.add(last())


def test_prometheus_fires_the_payment_failure_alert_from_real_traffic(stack, yookassa) -> None:
    web, prometheus = stack["web"], stack["prometheus"]
    _wait(
        lambda: _targets_up(prometheus) == {"vendkiosk": "up", "vendkiosk-worker": "up"},
        60,
        "both targets scraped with the token",
    )
    kiosk = make_kiosk()

    # One payment in twenty declined: 5 %, under the alert's 10 %. (The first decline makes the
    # series; the second is the increase a rate sees.) The worker counts declines and creates
    # no intents: a ratio taken target by target would be infinite there and fire.
    _declined(web, yookassa, _intent(web, kiosk.token))
    _wait(lambda: _scraped_failures(prometheus) == 1, 30, "the first decline scraped")
    for _ in range(19):
        _intent(web, kiosk.token)  # still pending: not a failure
    _declined(web, yookassa, _intent(web, kiosk.token))
    _wait(lambda: _scraped_failures(prometheus) == 2, 30, "the second decline scraped")
    _evaluations_after(prometheus, 3)
    assert _payment_alert(prometheus) is None

    # Now every payment is declined, until the fleet's ratio passes 10 %.
    def declining_until_fired() -> dict[str, Any] | None:
        _declined(web, yookassa, _intent(web, kiosk.token))
        alert = _payment_alert(prometheus)
        return alert if alert and alert["state"] == "firing" else None

    alert = _wait(declining_until_fired, 120, "HighPaymentFailureRate firing")

    assert float(alert["value"]) > 0.1
    assert alert["annotations"]["summary"] == "Высокий процент неудачных платежей"
    # The numbers behind it, as scraped: intents on the web, failures on the worker.
    intents = _api(prometheus, "query", query="payments_intents_total")["result"]
    assert {row["metric"]["job"] for row in intents if float(row["value"][1]) > 0} == {"vendkiosk"}
    failed = _api(prometheus, "query", query='payments_failed_total{reason="insufficient_funds"}')
    assert {row["metric"]["job"] for row in failed["result"]} == {"vendkiosk-worker"}
