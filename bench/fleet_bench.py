"""Fleet-cycle benchmark: one 15-minute cycle (last-24 h imports and terminal syncs for every
owner) of N Vendista owners over real Celery workers, against the minimum Vendista's rate
limits allow, measured in the same run.

    make bench            (or: .venv/bin/python bench/fleet_bench.py [--owners 2000])

A private PostgreSQL and Redis (bench/chaos/stack.py), the Vendista sandbox in its own process
serving N owners of realistic sizes (bench/fleet_sandbox.py), the owners bulk-created with
their Vendista connections (tokens the sandbox issued) and terminals, then `--workers` Celery
worker processes on the `imports` queue. The cycle is what beat sends every 15 minutes:
`schedule_imports(window="last_24h", trigger="schedule_15min")` and `schedule_terminal_syncs`,
sent as tasks. Vendista's limits are Vendista's defaults (5 requests/s overall, 1/s per token)
times `--scale`, so that the limits, not this machine's CPU, bound the run.

The minimum is what the limits impose: the requests the sandbox answered ÷ the overall rate, or
the busiest owner's requests ÷ the per-token rate if that is longer. `cycle_ratio` is the cycle
over that minimum (the target: at most 1.2). An owner's lag runs from the cycle's start to the
end of its last run (import and sync). Ends with one `name=value` line per figure; exits 1 when
a target is missed or the final state is not exact (every run succeeded, every transaction the
sandbox holds stored once).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CYCLE_S = 15 * 60
DEFAULT_RATE_GLOBAL = 5.0  # Vendista's limits as the product's settings default them
DEFAULT_RATE_PER_TOKEN = 1.0
TARGET_CYCLE_RATIO = 1.2
DATA_PATHS = ("/transactions", "/terminals", "/token")


@dataclass(frozen=True)
class Minimum:
    requests: int
    busiest_owner_requests: int
    overall_s: float
    per_token_s: float

    @property
    def seconds(self) -> float:
        return max(self.overall_s, self.per_token_s)


def limit_minimum(
    requests_per_owner: dict[str, int], *, rate_global: float, rate_per_token: float
) -> Minimum:
    """The least time the limits allow for these requests: all of them at the overall rate, or
    the busiest owner's at its token's rate, whichever is longer."""
    total = sum(requests_per_owner.values())
    busiest = max(requests_per_owner.values(), default=0)
    return Minimum(
        requests=total,
        busiest_owner_requests=busiest,
        overall_s=total / rate_global,
        per_token_s=busiest / rate_per_token,
    )


def owners_per_cycle(
    *, cycle_ratio: float, requests_per_owner: float, rate_global: float = DEFAULT_RATE_GLOBAL
) -> int:
    """Owners one 15-minute cycle serves at an overall rate, at the measured cycle ratio."""
    return math.floor(CYCLE_S * rate_global / (requests_per_owner * cycle_ratio))


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def requests_by_owner(log: list[dict[str, Any]], tokens: dict[str, str]) -> Counter[str]:
    """The sandbox's request log → API requests per owner login (by the token each carried;
    `/token` calls by the login they name)."""
    counts: Counter[str] = Counter()
    for entry in log:
        if entry["path"] not in DATA_PATHS:
            continue
        if entry["path"] == "/token":
            counts[entry["params"].get("login", "?")] += 1
        else:
            counts[tokens.get(entry["token"] or "", "?")] += 1
    return counts


# --- the run -------------------------------------------------------------------------------------


class Fleet:
    """The private stack of one run: PostgreSQL, Redis, the sandbox, the workers."""

    def __init__(self, var: Path, *, rate_global: float, rate_per_token: float) -> None:
        from bench.chaos.stack import Stack

        self.var = var
        self.stack = Stack(var, lock_ttl=120, log=lambda message: print(message, flush=True))
        self.rate_global = rate_global
        self.rate_per_token = rate_per_token
        self.sandbox: subprocess.Popen[str] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []

    def env(self) -> dict[str, str]:
        env = self.stack.env()
        env.update(
            VENDISTA_RATE_GLOBAL=str(self.rate_global),
            VENDISTA_RATE_PER_TOKEN=str(self.rate_per_token),
            VENDISTA_PAGE_SIZE="1000",
            # The production values (the chaos stack scales them down).
            VENDISTA_LOCK_TTL="120",
            VENDISTA_RUN_STALE_AFTER="180",
            VENDISTA_TIMEOUT="30",
            VENDISTA_BUSY_RETRY_SECONDS=os.environ.get("VENDISTA_BUSY_RETRY_SECONDS", "15"),
            LOG_LEVEL="WARNING",
        )
        return env

    def start(self, owners: int, seed: str) -> list[dict[str, Any]]:
        self.stack.start_infra()
        self.stack.reset_databases(migrate=True)
        manifest = self.var / "fleet-manifest.json"
        self.sandbox = subprocess.Popen(  # noqa: S603 - our interpreter, our module
            [
                sys.executable,
                "-m",
                "bench.fleet_sandbox",
                "--owners",
                str(owners),
                "--seed",
                seed,
                "--manifest",
                str(manifest),
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.sandbox.stdout is not None
        url = self.sandbox.stdout.readline().strip()
        if not url:
            raise RuntimeError("the fleet sandbox did not start")
        self.vendista_url = url
        # This process sees the stack as the workers do (its database, Redis, the sandbox).
        self.stack.adopt_env()
        os.environ.update(self.env(), VENDISTA_API_URL=url)
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return list(json.loads(manifest.read_text()))

    def start_workers(self, count: int, concurrency: int) -> None:
        env = {**self.env(), "VENDISTA_API_URL": self.vendista_url}
        for number in range(count):
            log = (self.var / "logs" / f"fleet-worker-{number}.log").open("ab")
            self.workers.append(
                subprocess.Popen(  # noqa: S603 - our interpreter
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "celery_app",
                        "worker",
                        "--loglevel=WARNING",
                        f"--concurrency={concurrency}",
                        "--queues=imports",
                        f"--hostname=fleet{number}@%h",
                        "--without-gossip",
                        "--without-mingle",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            )

    def worker_cpu_s(self) -> float:
        """CPU seconds used so far by the workers' process groups (main processes and pools)."""
        groups = {popen.pid for popen in self.workers}
        return _cpu_of(lambda stat: int(stat[4]) in groups)

    def stop(self) -> None:
        procs: list[subprocess.Popen[Any]] = [*self.workers]
        if self.sandbox is not None:
            procs.append(self.sandbox)
        for popen in procs:
            if popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(popen.pid, signal.SIGTERM)
        for popen in procs:
            try:
                popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
                popen.wait()
        self.stack.services.down(None, purge=True)  # the run's own cluster: its files go too


def _cpu_of(select: Any) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command (which may hold spaces): state is [0], pgrp is [2].
        stat = text[text.rindex(")") + 2 :].split()
        if select([None, None, *stat]):
            total += int(stat[11]) + int(stat[12])
    return total / ticks


def seed_owners(manifest: list[dict[str, Any]]) -> dict[str, int]:
    """Bulk-create the owners, their Vendista connections (stored tokens that work) and their
    terminals; returns owner id by login."""
    from django.db import transaction
    from django.utils import timezone

    from tenancy.models import Owner
    from vendista import crypto
    from vendista.models import PaymentStatus, Terminal, TokenStatus, VendistaAccount

    now = timezone.now()
    with transaction.atomic():
        owners = Owner.objects.bulk_create(
            Owner(name=f"Fleet {entry['login']}") for entry in manifest
        )
        ids = {entry["login"]: owner.pk for entry, owner in zip(manifest, owners, strict=True)}
        VendistaAccount.objects.bulk_create(
            VendistaAccount(
                owner_id=ids[entry["login"]],
                login_encrypted=crypto.encrypt(entry["login"]),
                password_encrypted=crypto.encrypt(entry["password"]),
                token_encrypted=crypto.encrypt(entry["token"]),
                token_status=TokenStatus.VALID,
                payment_status=PaymentStatus.ACTIVE,
            )
            for entry in manifest
        )
        Terminal.objects.bulk_create(
            (
                Terminal(
                    owner_id=ids[entry["login"]],
                    vendista_id=vendista_id,
                    name=name,
                    serial_number=serial,
                    is_online=True,
                    is_active=True,
                    last_synced_at=now,
                    last_online_time=now,
                )
                for entry in manifest
                for vendista_id, name, serial in entry["terminals"]
            ),
            batch_size=5000,
        )
    return ids


def wait_workers(count: int, timeout: float = 120) -> None:
    from celery_app import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1.0) or []) >= count:
            return
        time.sleep(0.5)
    raise TimeoutError(f"{count} workers did not answer within {timeout} s")


def run_cycle(owner_ids: list[int], timeout: float) -> tuple[float, dict[int, float], list[Any]]:
    """Send what beat sends at a quarter hour; wait until every owner's import and sync ended.
    Returns the start (epoch seconds), each owner's lag and the runs."""
    from celery_app import app
    from vendista.models import ACTIVE_RUN_STATUSES, ImportRun, RunKind

    started = time.time()
    app.send_task(
        "vendista.tasks.schedule_imports",
        kwargs={"window": "last_24h", "trigger": "schedule_15min"},
    )
    app.send_task("vendista.tasks.schedule_terminal_syncs")
    wanted = 2 * len(owner_ids)
    deadline = time.monotonic() + timeout
    while True:
        runs = ImportRun.objects.filter(kind__in=[RunKind.IMPORT, RunKind.SYNC])
        finished = runs.exclude(status__in=ACTIVE_RUN_STATUSES).count()
        if finished >= wanted and not runs.filter(status__in=ACTIVE_RUN_STATUSES).exists():
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{finished} of {wanted} runs finished within {timeout} s")
        time.sleep(0.5)
    rows = list(
        ImportRun.objects.values(
            "owner_id", "kind", "status", "created_at", "started_at", "finished_at", "error"
        )
    )
    lag: dict[int, float] = {}
    for row in rows:
        finished_at = row["finished_at"]
        assert finished_at is not None
        done = finished_at.timestamp() - started
        lag[row["owner_id"]] = max(lag.get(row["owner_id"], 0.0), done)
    return started, lag, rows


def fetch_log(url: str) -> list[dict[str, Any]]:
    import requests

    response = requests.get(f"{url}/_sandbox/requests", timeout=60)
    response.raise_for_status()
    return list(response.json())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--owners", type=int, default=2000)
    parser.add_argument("--seed", default="fleet")
    parser.add_argument("--workers", type=int, default=3, help="Celery worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="pool size of each worker")
    parser.add_argument(
        "--scale",
        type=float,
        default=3.5,
        help="Vendista's default limits (5/s overall, 1/s per token) times this",
    )
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument(
        "--var",
        type=Path,
        default=None,
        help="state directory, kept with the runs and the request log (default: a temporary one)",
    )
    args = parser.parse_args(argv)
    rate_global = DEFAULT_RATE_GLOBAL * args.scale
    rate_per_token = DEFAULT_RATE_PER_TOKEN * args.scale

    var = args.var or Path(tempfile.mkdtemp(prefix="vk-fleet-"))
    fleet = Fleet(var, rate_global=rate_global, rate_per_token=rate_per_token)
    try:
        manifest = fleet.start(args.owners, args.seed)
        import django

        django.setup()
        owner_ids = seed_owners(manifest)
        fleet.start_workers(args.workers, args.concurrency)
        wait_workers(args.workers)
        cpu_before = fleet.worker_cpu_s()
        started, lag, runs = run_cycle(list(owner_ids.values()), args.timeout)
        cpu_s = fleet.worker_cpu_s() - cpu_before
        load_1m = os.getloadavg()[0]
        log = fetch_log(fleet.vendista_url)
        exact, problems = check_final_state(manifest, owner_ids, runs)
    finally:
        fleet.stop()
        if args.var is None:  # a private cluster of ~600 MB: keep it only where asked
            shutil.rmtree(var, ignore_errors=True)

    if args.var is not None:
        (var / "fleet-result.json").write_text(
            json.dumps({"started": started, "runs": runs, "log": log}, default=str)
        )
    tokens = {entry["token"]: entry["login"] for entry in manifest}
    in_cycle = [entry for entry in log if entry["timestamp"] >= started]
    per_owner = requests_by_owner(in_cycle, tokens)
    minimum = limit_minimum(per_owner, rate_global=rate_global, rate_per_token=rate_per_token)
    cycle_s = max(lag.values())
    ratio = cycle_s / minimum.seconds
    lags = list(lag.values())
    statuses = Counter(entry["status"] for entry in in_cycle)
    large = [entry["login"] for entry in manifest if entry["transactions"] > 1000]
    small_lags = [lag[owner_ids[login]] for login in owner_ids if login not in large]
    figures: dict[str, Any] = {
        "owners": len(manifest),
        "large_owners": len(large),
        "transactions": sum(entry["transactions"] for entry in manifest),
        "workers": args.workers,
        "concurrency": args.concurrency,
        "rate_global": rate_global,
        "rate_per_token": rate_per_token,
        "requests": minimum.requests,
        "busiest_owner_requests": minimum.busiest_owner_requests,
        "non_200_answers": sum(n for status, n in statuses.items() if status != 200),
        "worker_cpu_share": round(cpu_s / cycle_s / (os.cpu_count() or 1), 3),
        # The machine is shared: how busy it was at the end of the cycle (all processes).
        "load_avg_1m": round(load_1m, 2),
        "cycle_s": round(cycle_s, 1),
        "minimum_s": round(minimum.seconds, 1),
        "cycle_ratio": round(ratio, 3),
        "max_owner_lag_s": round(max(lags), 1),
        "p95_owner_lag_s": round(percentile(lags, 0.95), 1),
        "max_small_owner_lag_s": round(max(small_lags), 1),
        "owners_per_cycle_at_default_limits": owners_per_cycle(
            cycle_ratio=ratio, requests_per_owner=minimum.requests / len(manifest)
        ),
    }
    print(
        f"fleet cycle of {len(manifest)} owners ({len(large)} large), {minimum.requests} requests "
        f"at {rate_global:g}/s overall and {rate_per_token:g}/s per token over {args.workers} "
        f"workers x {args.concurrency}: {cycle_s:.1f} s against a minimum of "
        f"{minimum.seconds:.1f} s"
    )
    for problem in problems[:20]:
        print(f"not exact: {problem}")
    checks = [
        ("exact", exact, "every run succeeded, every transaction stored once"),
        ("cycle_ratio", ratio <= TARGET_CYCLE_RATIO, f"<= {TARGET_CYCLE_RATIO}"),
    ]
    for name, ok, target in checks:
        print(f"target {name} {target}: {'met' if ok else 'MISSED'}")
    for name, value in figures.items():
        print(f"{name}={value}")
    return 0 if all(ok for _name, ok, _target in checks) else 1


def check_final_state(
    manifest: list[dict[str, Any]], owner_ids: dict[str, int], runs: list[dict[str, Any]]
) -> tuple[bool, list[str]]:
    """Every owner has one succeeded import and one succeeded sync, and exactly the sandbox's
    transactions stored."""
    from django.db.models import Count

    from vendista.models import RunStatus, Transaction

    problems = []
    per_owner: dict[int, Counter[str]] = {}
    for run in runs:
        per_owner.setdefault(run["owner_id"], Counter())[f"{run['kind']}:{run['status']}"] += 1
        if run["status"] != RunStatus.SUCCEEDED:
            owner, kind = run["owner_id"], run["kind"]
            problems.append(f"owner {owner} {kind}: {run['status']} {run['error']}")
    stored = dict(
        Transaction.objects.values("owner_id").annotate(n=Count("id")).values_list("owner_id", "n")
    )
    for entry in manifest:
        owner_id = owner_ids[entry["login"]]
        kinds = per_owner.get(owner_id, Counter())
        if kinds != Counter({"import:succeeded": 1, "sync:succeeded": 1}):
            problems.append(f"owner {owner_id} runs {dict(kinds)}")
        if stored.get(owner_id, 0) != entry["transactions"]:
            problems.append(
                f"owner {owner_id}: {stored.get(owner_id, 0)} of {entry['transactions']} stored"
            )
    return not problems, problems


if __name__ == "__main__":
    sys.exit(main())
