"""Kiosk API speed: gunicorn as in production (deploy/gunicorn.conf.py) on a free port, loaded
from outside the Python server: `wrk` (Debian's package) for throughput of the payment-status
poll and of session create against, in the same run and on the same gunicorn, a bare Django
view behind the same middleware (the ceiling); then bench/loadgen.py (its own process, open
loop) at a fixed rate for p50/p99 of the status poll and of session create.

    DATABASE_URL=... REDIS_DB=... python bench/kiosk_api_bench.py [--rate 200] [--seconds 10]

Uses the database at DATABASE_URL (migrated here) and adds one bench kiosk to it. Prints a
`target … met/MISSED` line per target, then the figures; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
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

# Issue targets on the 2-core machine: the poll at half the bare view's throughput or more, and
# both endpoints' p99 under 50 ms at 200 requests/s. A missed one fails the run (`make bench`).
TARGET_STATUS_RATIO = 0.5
TARGET_RATE = 200.0
TARGET_P99_MS = 50.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(url: str, token: str, seconds: float, connections: int, post: str = "") -> dict[str, float]:
    """Closed-loop throughput with wrk (C, two threads): requests/s and latency percentiles.
    With `post`, each request is a POST of that JSON body."""
    binary = shutil.which("wrk")
    assert binary, "wrk: deploy/local/system-libs.sh --tests installs it (apt install wrk)"
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        script: list[str] = []
        if post:
            lua.write(
                f'wrk.method = "POST"\nwrk.body = {json.dumps(post)}\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
            )
            lua.flush()
            script = ["-s", lua.name]
        out = subprocess.run(  # noqa: S603
            [
                binary,
                *script,
                "-t2",
                f"-c{connections}",
                f"-d{seconds:g}s",
                "--latency",
                "--timeout",
                "10s",
                "-H",
                f"Authorization: Kiosk {token}",
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert non_2xx is None, out
    if "Socket errors" in out:
        print(f"# wrk {url}: {out}", file=sys.stderr)
    return {"rps": rps, **{f"p{q}_ms": _wrk_ms(out, q) for q in (50, 99)}}


def _wrk_ms(out: str, q: int) -> float:
    match = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    assert match, out
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def open_loop(
    url: str,
    token: str,
    rate: float,
    seconds: float,
    method: str = "GET",
    body: str = "",
    trace: Path | None = None,
) -> dict[str, float]:
    """Fixed-rate load from bench/loadgen.py in its own process: p50/p99 at `rate`."""
    command = [
        sys.executable,
        str(ROOT / "bench" / "loadgen.py"),
        url,
        "--rate",
        str(rate),
        "--seconds",
        str(seconds),
        "--method",
        method,
        "--header",
        f"Authorization: Kiosk {token}",
    ]
    if body:
        command += ["--body", body]
    if trace:
        command += ["--trace", str(trace)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    result: dict[str, float] = json.loads(out)
    if result["errors"]:
        print(f"# {method} {url}: {result}", file=sys.stderr)
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--rate", type=float, default=TARGET_RATE, help="open-loop requests per second"
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=3, help="alternating wrk rounds per view")
    parser.add_argument(
        "--trace-dir", type=Path, help="keep each open-loop request's latency (loadgen --trace)"
    )
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
            "bench.bare_wsgi",
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
        body = json.dumps({"type": "diagnostics", "contact": {"email": "bench@example.com"}})
        session = http.post(
            f"{base}/api/sessions", data=body, headers={"Content-Type": "application/json"}
        ).json()
        intent = http.post(
            f"{base}/api/payments/intent", json={"session_id": session["id"]}, timeout=10
        ).json()
        status_url = f"{base}/api/payments/status/{intent['id']}"
        bare_url = f"{base}/bench/bare"
        wrk(status_url, token, 2, args.connections)  # warm-up: every worker, every thread
        wrk(bare_url, token, 2, args.connections)
        # Alternating rounds, the best of each: a burst of other work on the machine during one
        # round cannot pass for a difference between the two.
        bares, statuses, creates = [], [], []
        each = max(1, math.ceil(args.seconds / args.rounds))  # wrk takes whole seconds
        for _ in range(args.rounds):
            bares.append(wrk(bare_url, token, each, args.connections))
            statuses.append(wrk(status_url, token, each, args.connections))
            creates.append(wrk(f"{base}/api/sessions", token, each, args.connections, post=body))
        bare = max(bares, key=lambda result: result["rps"])
        status = max(statuses, key=lambda result: result["rps"])
        create = max(creates, key=lambda result: result["rps"])
        traces = args.trace_dir
        if traces:
            traces.mkdir(parents=True, exist_ok=True)
        polled = open_loop(
            status_url, token, args.rate, args.seconds, trace=traces and traces / "status.txt"
        )
        created = open_loop(
            f"{base}/api/sessions",
            token,
            args.rate,
            args.seconds,
            method="POST",
            body=body,
            trace=traces and traces / "session_create.txt",
        )
    finally:
        web.terminate()
        web.wait(timeout=20)
    ratio = status["rps"] / bare["rps"]
    checks = [
        ("status_ratio", ratio >= TARGET_STATUS_RATIO, f">= {TARGET_STATUS_RATIO}"),
        ("errors", created["errors"] + polled["errors"] == 0, "none at the fixed rate"),
    ]
    if args.rate == TARGET_RATE:  # the latency targets are set at this rate
        for name, result in (("session_create", created), ("status", polled)):
            ok = result["p99_ms"] < TARGET_P99_MS
            checks.append((f"{name}_p99_ms_at_{TARGET_RATE:g}", ok, f"< {TARGET_P99_MS:g}"))
    for name, ok, target in checks:
        print(f"target {name} {target}: {'met' if ok else 'MISSED'}")
    workers = env.get("WEB_CONCURRENCY", "2")
    threads = env.get("WEB_THREADS", "4")
    print(f"api_gunicorn={workers}x{threads} gthread")
    print(f"wrk_connections={args.connections}")
    print(f"wrk_rounds={args.rounds}")
    print(f"bare_rps={bare['rps']:.0f}")
    print(f"bare_p50_ms={bare['p50_ms']:.2f}")
    print(f"status_rps={status['rps']:.0f}")
    print(f"status_p50_ms={status['p50_ms']:.2f}")
    print(f"status_ratio={ratio:.2f}")
    print(f"session_create_rps={create['rps']:.0f}")
    print(f"session_create_p50_ms={create['p50_ms']:.2f}")
    print(f"session_create_ratio={create['rps'] / bare['rps']:.2f}")
    print(f"open_loop_rate_rps={args.rate:g}")
    print(f"session_create_p50_ms_at_{args.rate:g}={created['p50_ms']:.1f}")
    print(f"session_create_p99_ms_at_{args.rate:g}={created['p99_ms']:.1f}")
    print(f"status_p50_ms_at_{args.rate:g}={polled['p50_ms']:.1f}")
    print(f"status_p99_ms_at_{args.rate:g}={polled['p99_ms']:.1f}")
    print(f"session_create_errors_at_{args.rate:g}={created['errors']:.0f}")
    print(f"status_errors_at_{args.rate:g}={polled['errors']:.0f}")
    return 0 if all(ok for _name, ok, _target in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
