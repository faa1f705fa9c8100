"""`make chaos`: a seeded fault-injection run of the whole stack, compared with a fault-free run.

    .venv/bin/python -m bench.chaos --seed 1                    (what `make chaos` runs)
    .venv/bin/python -m bench.chaos --seed 1 --print-schedule   (the fault schedule only)

Both runs use the same private stack (PostgreSQL, Redis, web, worker, beat, sandboxes under
var/chaos-<seed>/), a fresh database each, and the same seeded workload. The chaos run kills
Redis, PostgreSQL, worker pool children, the whole worker and beat, and freezes the Vendista
sandbox past the owner lock's lifetime; then both wait for quiescence and the final states are
compared. The last line is `chaos: faults=N lost=L duplicated=D max_recovery_s=R`; the exit
status is 0 only when L = D = 0, every fault kind ran, both runs settled and R <= the bound.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.chaos import faults as chaos_faults  # noqa: E402
from bench.chaos.compare import compare, invariant_problems  # noqa: E402
from bench.chaos.stack import QUEUES, Stack  # noqa: E402

# The stated bound: a fault delays work by at most this long (faults end → settled again).
DEFAULT_MAX_RECOVERY_S = 180.0
LOCK_TTL_S = 8
EXAMPLES = 12  # differences printed per category


def say(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S', time.gmtime())}] {message}", flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-kind", type=int, default=20, help="faults of each kind")
    parser.add_argument("--owners", type=int, default=3, help="coffee owners importing")
    parser.add_argument("--days", type=int, default=4, help="days of sales per owner")
    parser.add_argument("--per-day", type=int, default=50, help="sales per day per owner")
    parser.add_argument("--sessions", type=int, default=16, help="kiosk client sessions")
    parser.add_argument(
        "--span", type=float, default=240.0, help="seconds the workload is spread over"
    )
    parser.add_argument(
        "--control-scale", type=float, default=0.15, help="the fault-free run's time scale"
    )
    parser.add_argument(
        "--settle", type=float, default=5.0, help="seconds of no pending work = quiescent"
    )
    parser.add_argument("--quiesce-timeout", type=float, default=240.0)
    parser.add_argument("--max-recovery", type=float, default=DEFAULT_MAX_RECOVERY_S)
    parser.add_argument("--print-schedule", action="store_true")
    return parser.parse_args(argv)


def pending_work(stack: Stack) -> dict[str, int]:
    """Work PostgreSQL says is not finished, and messages waiting in the Celery queues."""
    import redis
    from django.db.models import Q

    from notifications.models import Delivery, Digest
    from payments.models import PaymentIntent, WebhookEvent
    from reports.models import Report
    from vendista.models import ACTIVE_RUN_STATUSES, ImportRun

    counts = {
        "import_runs_active": ImportRun.objects.filter(status__in=ACTIVE_RUN_STATUSES).count(),
        "reports_unfinished": Report.objects.filter(status__in=["pending", "generated"]).count(),
        "report_deliveries_pending": Delivery.objects.filter(
            source__startswith="report:", status__in=["queued", "sending", "failed"]
        ).count(),
        "deliveries_unsent": Delivery.objects.filter(
            status__in=["queued", "sending", "failed"]
        ).count(),
        "digests_open": Digest.objects.filter(completed_at__isnull=True).count(),
        "webhooks_unprocessed": WebhookEvent.objects.filter(processed_at__isnull=True).count(),
        "intents_pending": PaymentIntent.objects.filter(
            Q(status="pending") | Q(refund_status="pending")
        ).count(),
    }
    client = redis.Redis.from_url(stack.redis_url, socket_timeout=2)
    counts["celery_queued"] = sum(int(client.llen(queue)) for queue in QUEUES)
    counts["celery_unacked"] = int(client.hlen("unacked"))
    return {key: value for key, value in counts.items() if value}


def close_db() -> None:
    from django.db import connections

    for conn in connections.all():
        with contextlib.suppress(Exception):  # a dead connection is what we are dropping
            conn.close()


def drive(units: list[Any], ctx: Any, errors: Counter[str]) -> None:
    for unit in units:
        if unit.done:
            continue
        try:
            unit.advance(ctx)
        except Exception as exc:
            errors[f"{unit.name}: {type(exc).__name__}"] += 1
            close_db()


def one_run(
    stack: Stack, options: argparse.Namespace, *, chaos: bool, first: bool
) -> dict[str, Any]:
    from bench.chaos import workload

    label = "chaos" if chaos else "control"
    stack.run_tag = label
    close_db()
    stack.reset_databases(migrate=first)
    stack.start_sandboxes()
    plan = workload.Plan(
        options.seed, options.owners, options.days, options.per_day, options.sessions, options.span
    )
    workload.seed_sandbox(plan, f"http://127.0.0.1:{stack.vendista_port}")
    stack.adopt_env()
    seeded = workload.seed_database(plan, f"http://127.0.0.1:{stack.vendista_port}")
    stack.start_app()
    stack.supervise()
    scale = 1.0 if chaos else options.control_scale
    ctx = workload.Context(
        web=f"http://127.0.0.1:{stack.web_port}",
        control=stack.urls["control"],
        tokens=seeded["kiosk_tokens"],
        t0=time.monotonic(),
        scale=scale,
    )
    units = workload.build_units(plan)
    errors: Counter[str] = Counter()
    stop = threading.Event()
    injector = chaos_faults.Injector(stack, say, options.max_recovery)
    lanes: list[threading.Thread] = []
    if chaos:
        for lane in chaos_faults.schedule(options.seed, options.per_kind, LOCK_TTL_S):
            thread = threading.Thread(target=injector.run_lane, args=(lane, stop), daemon=True)
            thread.start()
            lanes.append(thread)
    say(f"{label}: workload of {len(units)} units started")
    while any(t.is_alive() for t in lanes) or (
        not all(u.done for u in units) and ctx.now() < options.span * 1.5
    ):
        drive(units, ctx, errors)
        time.sleep(0.3)
    faults_end = time.monotonic()
    settled_at: float | None = None
    quiet_since: float | None = None
    last: dict[str, int] = {}
    said_at = 0.0
    while time.monotonic() - faults_end < options.quiesce_timeout:
        drive(units, ctx, errors)
        try:
            last = pending_work(stack)
        except Exception as exc:
            last = {f"unreadable ({type(exc).__name__})": 1}
            close_db()
        unfinished = [u.name for u in units if not u.done]
        if not last and not unfinished:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= options.settle:
                settled_at = quiet_since
                break
        else:
            quiet_since = None
            if time.monotonic() - said_at >= 15:
                said_at = time.monotonic()
                waited = time.monotonic() - faults_end
                say(f"{label}: {waited:.0f}s: waiting for pending={last} unfinished={unfinished}")
        time.sleep(0.5)
    unfinished = [u.name for u in units if not u.done]
    settle_s = (settled_at - faults_end) if settled_at is not None else options.quiesce_timeout
    if settled_at is None:
        limit = f"{options.quiesce_timeout:.0f}s"
        say(f"{label}: NOT quiescent after {limit}: pending={last} unfinished={unfinished}")
    else:
        say(f"{label}: quiescent {settle_s:.1f}s after the last fault/workload step")
    for note in ctx.notes:
        say(f"{label}: {note}")
    for name, count in sorted(errors.items()):
        say(f"{label}: harness step retried {count}x: {name}")
    state = workload.snapshot(stack.urls["control"])
    state["_settled"] = settled_at is not None
    state["_settle_s"] = settle_s
    state["_pending"] = last
    state["_unfinished"] = unfinished
    state["_applied"] = injector.applied
    state["_crashes"] = {name: len(p.crashes) for name, p in stack.procs.items() if p.crashes}
    stack.stop_app()
    for name in ("sandbox_host", "vendista"):
        popen = stack.procs[name].popen
        if popen is not None:
            popen.terminate()
            popen.wait(timeout=10)
    for proc in stack.procs.values():
        proc.crashes.clear()
    return state


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    lanes = chaos_faults.schedule(options.seed, options.per_kind, LOCK_TTL_S)
    say(f"seed {options.seed}: fault schedule {chaos_faults.fingerprint(lanes)}")
    for lane_name, lane in zip(chaos_faults.LANE_NAMES, lanes, strict=True):
        say(f"  {lane_name} lane: " + ", ".join(f.describe() for f in lane))
    if options.print_schedule:
        return 0
    var_dir = ROOT / "var" / f"chaos-{options.seed}"
    shutil.rmtree(var_dir, ignore_errors=True)
    stack = Stack(var_dir, lock_ttl=LOCK_TTL_S, log=say)
    try:
        stack.start_infra()
        stack.define_processes()
        stack.adopt_env()
        import django

        django.setup()
        from django.conf import settings

        if stack.redis_url != settings.CELERY_BROKER_URL:  # what the harness queues must arrive
            raise SystemExit(f"harness broker {settings.CELERY_BROKER_URL} is not the stack's")
        started = time.monotonic()
        control = one_run(stack, options, chaos=False, first=True)
        say(f"control run done in {time.monotonic() - started:.0f}s")
        chaos = one_run(stack, options, chaos=True, first=False)
        say(f"chaos run done after {time.monotonic() - started:.0f}s in all")
    finally:
        stack.teardown()
    return report(options, control, chaos)


def report(options: argparse.Namespace, control: dict[str, Any], chaos: dict[str, Any]) -> int:
    ok = True
    problems = invariant_problems(control)
    if not control["_settled"] or problems:
        ok = False
        settled = control["_settled"]
        say(f"the fault-free run is not a valid reference: settled={settled} {problems[:10]}")
    verdict = compare(control, chaos)
    applied = chaos["_applied"]
    kinds = Counter(a.kind for a in applied)
    for kind in chaos_faults.KINDS:
        recoveries = [a.recovery_s for a in applied if a.kind == kind]
        worst = max(recoveries, default=0.0)
        say(f"faults {kind:16s} {kinds[kind]:3d}  worst recovery {worst:6.1f}s")
        if kinds[kind] < options.per_kind:
            ok = False
    crashes = chaos["_crashes"] or "none"
    say(f"processes that exited by themselves (restarted by the harness): {crashes}")
    alerts = f"control {control['admin_alerts']}, chaos {chaos['admin_alerts']}"
    say(f"admin alerts (not compared: faults cause them): {alerts}")
    say(
        "reference: "
        + ", ".join(
            f"{key}={sum(v.values()) if isinstance(v, Counter) else len(v)}"
            for key, v in control.items()
            if not key.startswith("_") and isinstance(v, dict)
        )
    )
    for category, count in sorted(verdict.per_category.items()):
        say(f"{category}: {count}")
        shown = [text for key, text in verdict.lines if key == category]
        for text in shown[:EXAMPLES]:
            say(f"  {text}")
        if len(shown) > EXAMPLES:
            say(f"  ... and {len(shown) - EXAMPLES} more")
    for category in ("payments", "reports"):
        for key, text in verdict.lines:
            if key.startswith(category):
                session = text.split(": ", 1)[1].split(" ", 1)[0]
                for side, state in (("control", control), ("chaos", chaos)):
                    say(f"  {session} {side}: {state['_payment_trail'].get(session, [])}")
    if not chaos["_settled"]:
        ok = False
        say(
            f"stuck at the end: pending={chaos['_pending']} unfinished units={chaos['_unfinished']}"
        )
    for line in chaos["_runs"]:
        say(f"  import run: {line}")
    max_recovery = max([a.recovery_s for a in applied] + [chaos["_settle_s"]])
    if max_recovery > options.max_recovery:
        ok = False
    ok = ok and verdict.lost == 0 and verdict.duplicated == 0
    say(
        f"repeated sends (allowed: one more copy per interrupted send on a channel without "
        f"idempotency keys, see README): {verdict.repeated}"
    )
    print(
        f"chaos: faults={len(applied)} lost={verdict.lost} duplicated={verdict.duplicated} "
        f"max_recovery_s={max_recovery:.1f}",
        flush=True,
    )
    return 0 if ok else 1
