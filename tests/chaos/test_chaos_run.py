"""The chaos harness (bench/chaos): its seeded schedule, its comparison, and a short seeded run of
the whole stack under faults (`chaos` marker)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from unittest import mock

import pytest

from bench.chaos.compare import compare
from bench.chaos.faults import KINDS, MAIN_KINDS, fingerprint, schedule
from bench.chaos.workload import Plan

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(r"^chaos: faults=(\d+) lost=(\d+) duplicated=(\d+) max_recovery_s=([\d.]+)$")


def test_same_seed_gives_the_same_fault_schedule_and_workload() -> None:
    first, again, other = schedule(3, 20, 8), schedule(3, 20, 8), schedule(4, 20, 8)
    assert first == again
    assert fingerprint(first) == fingerprint(again) != fingerprint(other)
    *lanes, freezes = first
    assert Counter(f.kind for lane in lanes for f in lane) == dict.fromkeys(MAIN_KINDS, 20)
    assert len(freezes) == 20 and all(f.hold_s > 8 for f in freezes)  # past the lock's lifetime
    assert set(KINDS) == {*MAIN_KINDS, "vendista_freeze"}
    plan, same = Plan(3, 3, 4, 50, 16, 240.0), Plan(3, 3, 4, 50, 16, 240.0)
    assert (plan.windows, plan.session_kinds, plan.session_offsets) == (
        same.windows,
        same.session_kinds,
        same.session_offsets,
    )


def test_print_schedule_is_reproducible_from_the_command_line() -> None:
    def printed(seed: int) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "bench.chaos", "--seed", str(seed), "--print-schedule"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return "\n".join(line.split("] ", 1)[1] for line in result.stdout.splitlines())

    assert printed(5) == printed(5) != printed(6)


def test_the_harness_queues_to_the_stacks_redis_whatever_the_caller_set(tmp_path: Path) -> None:
    """pytest sets REDIS_DB=15: the stack's processes never saw it, but the harness kept it, so
    the digest it asked for went to a Redis database no worker of the stack reads (the short run
    lost every stock digest). The harness's process must see the stack exactly as its children."""
    from bench.chaos.stack import Stack

    with mock.patch.dict(
        os.environ, {"REDIS_DB": "15", "REDIS_URL": "redis://elsewhere:1/3", "DATABASE_URL": "x"}
    ):
        stack = Stack(tmp_path, lock_ttl=8, log=print)
        stack.adopt_env()
        assert "REDIS_DB" not in os.environ
        assert (os.environ["REDIS_URL"], os.environ["DATABASE_URL"]) == (
            stack.redis_url,
            stack.database_url,
        )
        assert [key for key in os.environ if key.startswith("REDIS_")] == ["REDIS_URL"]


def _state(**changes: object) -> dict[str, object]:
    state: dict[str, object] = {
        "transactions": {"A:1": "deducted", "A:2": "needs_recipe"},
        "payments": {"s1": "succeeded/-", "s2": "canceled/succeeded"},
        "reports": {"s1": "thickness:delivered:email=sent,sms=sent"},
        "stock": {"A:9:machine:Кофе": "700"},
        "tasks": Counter({"A:9:restock:pending": 1}),
        "sessions": Counter({"s1": 1, "s2": 1}),
        "psp_refunds": Counter({"s2": 1}),
        "email": Counter({"c1@example.com": 1}),
        "sms": Counter({"+79160000001": 1}),
        "telegram": Counter({"7001: new task": 1}),
        "digest_coverage": {"7000:1": 1},
    }
    state.update(changes)
    return state


def test_comparison_counts_each_lost_and_duplicated_unit() -> None:
    assert (compare(_state(), _state()).lost, compare(_state(), _state()).duplicated) == (0, 0)
    verdict = compare(
        _state(),
        _state(
            transactions={"A:1": "deducted"},  # one sale never imported
            stock={"A:9:machine:Кофе": "690"},  # deducted twice
            psp_refunds=Counter({"s2": 2}),  # refunded twice
            telegram=Counter(),  # a notice never sent
            email=Counter({"c1@example.com": 2}),  # the report mailed twice
            digest_coverage={"7000:1": 0, "7000:2": 2},  # one change never digested, one twice
        ),
    )
    assert verdict.per_category == {
        "transactions.lost": 1,
        "stock.duplicated": 1,
        "psp_refunds.duplicated": 1,
        "telegram.lost": 1,
        "email.duplicated": 1,
        "digest.lost": 1,
        "digest.duplicated": 1,
    }
    assert (verdict.lost, verdict.duplicated) == (3, 4)


def test_an_extra_copy_is_allowed_only_once_per_interrupted_send() -> None:
    """The README's promise for channels without idempotency keys: a send interrupted after the
    provider accepted it costs at most one more copy. An extra copy of a delivery that was
    attempted twice is counted as repeated; a copy beyond that, or of a delivery sent at its
    first attempt, is a duplicate."""
    retried = {"email|c1@example.com": 1, "sms|+79160000001": 1}
    verdict = compare(
        _state(),
        _state(
            email=Counter({"c1@example.com": 2}),  # one interrupted send: allowed
            sms=Counter({"+79160000001": 3}),  # one interrupted send, two extra copies
            telegram=Counter({"7001: new task": 2}),  # never interrupted
            _retried_sends=retried,
        ),
    )
    assert verdict.per_category == {
        "email.repeated": 1,
        "sms.repeated": 1,
        "sms.duplicated": 1,
        "telegram.duplicated": 1,
    }
    assert (verdict.lost, verdict.duplicated, verdict.repeated) == (0, 2, 2)
    # The same extra copies with no retried send behind them are all duplicates.
    plain = compare(_state(), _state(email=Counter({"c1@example.com": 2})))
    assert (plain.duplicated, plain.repeated) == (1, 0)


def _short_run(per_kind: int) -> tuple[subprocess.CompletedProcess[str], list[str], re.Match[str]]:
    """The short seeded run: a small workload, `per_kind` faults of every kind."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    command = [sys.executable, "-m", "bench.chaos", "--seed", "7", "--per-kind", str(per_kind)]
    command += ["--owners", "2", "--days", "2", "--sessions", "5", "--span", "30"]
    command += ["--quiesce-timeout", "150"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    lines = result.stdout.strip().splitlines()
    found = SUMMARY.match(lines[-1]) if lines else None
    assert found, result.stdout[-3000:] + result.stderr[-3000:]
    return result, lines, found


@pytest.mark.chaos
@pytest.mark.timeout(420)
def test_short_chaos_run_loses_and_duplicates_nothing() -> None:
    """Two faults of every kind on a small workload, compared with the fault-free run of the same
    seed at another pace — the same check as `make chaos`. The fault-free run must itself be a
    valid reference (settled, every kind of work produced), so a timing-dependent harness fails
    here too."""
    result, lines, found = _short_run(2)
    faults, lost, duplicated, _recovery = found.groups()
    output = "\n".join(lines[-60:])
    assert int(faults) == 2 * len(KINDS), output
    assert (int(lost), int(duplicated)) == (0, 0), output
    assert not any("not a valid reference" in line for line in lines), output
    assert result.returncode == 0, output
