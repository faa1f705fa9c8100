"""The fleet-cycle benchmark's own pieces (bench/fleet_bench.py): the limit-imposed minimum, the
per-owner request count read from the sandbox's log, and a tiny cycle of its whole stack (a
private PostgreSQL and Redis, the sandbox, three real workers) that must end exact."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.fleet_bench import limit_minimum, owners_per_cycle, percentile, requests_by_owner
from bench.fleet_sandbox import PAGE, fleet_spec

ROOT = Path(__file__).resolve().parents[2]
FIGURE = re.compile(r"^(\w+)=(.+)$")


def test_the_minimum_is_the_overall_rate_or_the_busiest_token_whichever_is_longer() -> None:
    counts = {"small": 2, "medium": 3, "large": 10}
    by_token = limit_minimum(counts, rate_global=5.0, rate_per_token=1.0)
    assert by_token.requests == 15 and by_token.busiest_owner_requests == 10
    assert (by_token.overall_s, by_token.per_token_s, by_token.seconds) == (3.0, 10.0, 10.0)
    overall = limit_minimum(counts, rate_global=5.0, rate_per_token=5.0)
    assert (overall.overall_s, overall.per_token_s, overall.seconds) == (3.0, 2.0, 3.0)


def test_owners_per_cycle_and_percentiles() -> None:
    # 15 minutes at 5 requests/s, 2.25 requests an owner, 1.125 times the minimum: 1,777 owners.
    assert owners_per_cycle(cycle_ratio=1.125, requests_per_owner=2.25) == 1777
    assert owners_per_cycle(cycle_ratio=1.0, requests_per_owner=2.0, rate_global=10) == 4500
    assert percentile([float(n) for n in range(1, 101)], 0.95) == 95.0
    assert percentile([3.0], 0.95) == 3.0


def test_requests_are_counted_per_owner_by_token_and_by_login() -> None:
    log: list[dict[str, Any]] = [
        {"path": "/transactions", "token": "t-a", "params": {}},
        {"path": "/transactions", "token": "t-a", "params": {}},
        {"path": "/terminals", "token": "t-b", "params": {}},
        {"path": "/token", "token": None, "params": {"login": "b", "password": "***"}},
        {"path": "/_sandbox/requests", "token": None, "params": {}},
    ]
    assert requests_by_owner(log, {"t-a": "a", "t-b": "b"}) == {"a": 2, "b": 2}


def test_the_fleet_has_many_small_owners_and_a_few_large_ones() -> None:
    specs = fleet_spec(2000)
    large = [spec for spec in specs if spec.large]
    assert len(large) == 8 and all(spec.transactions > 9 * PAGE for spec in large)
    small = [spec for spec in specs if not spec.large]
    assert all(1 <= spec.terminals <= 20 and spec.transactions <= PAGE for spec in small)
    assert fleet_spec(2000) == specs  # the same fleet every run


@pytest.mark.services
@pytest.mark.worker
def test_a_tiny_cycle_imports_every_owner_exactly() -> None:
    owners = 20
    result = subprocess.run(
        [
            sys.executable,
            "bench/fleet_bench.py",
            f"--owners={owners}",
            "--scale=40",
            "--timeout=120",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = result.stdout.splitlines()
    assert any("target exact" in line and line.endswith(": met") for line in lines), (
        result.stdout[-3000:] + result.stderr[-3000:]
    )
    figures = {m[1]: m[2] for line in lines if (m := FIGURE.match(line))}
    specs = fleet_spec(owners)
    # One /transactions request a page (an empty window still asks once), one /terminals each.
    expected = sum(max(1, math.ceil(spec.transactions / PAGE)) + 1 for spec in specs)
    assert int(figures["owners"]) == owners
    assert int(figures["transactions"]) == sum(spec.transactions for spec in specs)
    assert int(figures["requests"]) == expected
    assert int(figures["busiest_owner_requests"]) == max(
        math.ceil(spec.transactions / PAGE) + 1 for spec in specs
    )
    assert float(figures["minimum_s"]) == pytest.approx(
        max(expected / 200.0, int(figures["busiest_owner_requests"]) / 40.0), abs=0.1
    )
    assert int(figures["non_200_answers"]) == 0
