"""Kiosk API latency under load: gunicorn as in production (deploy/gunicorn.conf.py) on a free
port, open-loop requests at a stated rate; p50/p99 for session create and payment-status polling.

    DATABASE_URL=... REDIS_DB=... python bench/kiosk_api_bench.py [--rate 40] [--seconds 10]

Uses the database at DATABASE_URL (migrated here) and adds one bench kiosk to it.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from kiosk.models import Kiosk  # noqa: E402
from tenancy.models import Owner  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_at_rate(rate: float, seconds: float, call: object) -> list[float]:
    """Start `rate` calls per second for `seconds` (open loop); latencies in ms."""
    latencies: list[float] = []
    lock = threading.Lock()

    def one() -> None:
        started = time.perf_counter()
        call()  # type: ignore[operator]
        with lock:
            latencies.append((time.perf_counter() - started) * 1000)

    with ThreadPoolExecutor(max_workers=64) as pool:
        begin = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one)
    return latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    owner, _ = Owner.objects.get_or_create(name="Бенчмарк")
    kiosk = Kiosk.objects.filter(owner=owner, name="bench").first() or Kiosk(
        owner=owner, name="bench"
    )
    token = kiosk.set_token()
    kiosk.save()
    port = free_port()
    env = {
        **os.environ,
        "KIOSK_THROTTLE_RATE": "1000000/min",
        "KIOSK_IP_THROTTLE_RATE": "1000000/min",
        "PAYMENTS_DEV_MANUAL_MODE": "true",
        "LOG_LEVEL": "WARNING",
    }
    web = subprocess.Popen(  # noqa: S603
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "--config",
            "deploy/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    http = requests.Session()
    http.headers["Authorization"] = f"Kiosk {token}"
    try:
        for _ in range(100):
            try:
                if http.get(f"{base}/api/kiosk/me", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        body = {"type": "diagnostics", "contact": {"email": "bench@example.com"}}

        def create() -> None:
            response = http.post(f"{base}/api/sessions", json=body, timeout=10)
            assert response.status_code == 201, response.text

        session = http.post(f"{base}/api/sessions", json=body, timeout=10).json()
        intent = http.post(
            f"{base}/api/payments/intent", json={"session_id": session["id"]}, timeout=10
        ).json()

        def poll() -> None:
            response = http.get(f"{base}/api/payments/status/{intent['id']}", timeout=10)
            assert response.status_code == 200, response.text

        for _ in range(20):  # warm-up
            poll()
        created = run_at_rate(args.rate, args.seconds, create)
        polled = run_at_rate(args.rate, args.seconds, poll)
    finally:
        web.terminate()
        web.wait(timeout=20)
    workers = env.get("WEB_CONCURRENCY", "2")
    threads = env.get("WEB_THREADS", "4")
    print(f"api_rate_rps={args.rate:g}")
    print(f"api_gunicorn={workers}x{threads} gthread")
    print(f"session_create_p50_ms={pct(created, 50):.1f}")
    print(f"session_create_p99_ms={pct(created, 99):.1f}")
    print(f"payment_status_p50_ms={pct(polled, 50):.1f}")
    print(f"payment_status_p99_ms={pct(polled, 99):.1f}")


if __name__ == "__main__":
    main()
