"""The multi-host checks (tests/scaleout/checks.py) on request logs made up to break each
guarantee: each check must be able to fail."""

from __future__ import annotations

from typing import Any

from tests.scaleout import checks

A = ("2026-01-01T00:00:00", "2026-01-01T23:59:59")
B = ("2025-12-31T23:59:59", "2026-01-02T00:00:00")


def entry(
    at: float, window: tuple[str, str] = A, *, login: str = "o1", client: str = "h0", page: int = 1
) -> dict[str, Any]:
    return {
        "path": "/transactions",
        "params": {"DateFrom": window[0], "DateTo": window[1], "PageNumber": str(page)},
        "token": "tok",
        "status": 200,
        "started": at,
        "timestamp": at + 0.05,
        "login": login,
        "client": client,
    }


def test_runs_that_alternate_under_the_lock_pass_and_interleaved_runs_fail() -> None:
    # One run, a second after it; then the first again (it was re-queued): three attempts.
    alternating = checks.parse(
        [entry(0), entry(0.4), entry(1, B, client="h1"), entry(1.4, B), entry(2), entry(2.3)]
    )
    assert checks.overlaps(alternating, {"o1": 3}) == []
    # The same requests with only two attempts behind them: one block too many.
    assert checks.overlaps(alternating, {"o1": 2})
    # Two runs of one owner at once, on two hosts.
    interleaved = checks.parse(
        [entry(0), entry(0.1, B, client="h1"), entry(0.4), entry(0.5, B, client="h1")]
    )
    assert checks.overlaps(interleaved, {"o1": 2})
    # A run that starts while the other's last answer is still on its way.
    handover = checks.parse([entry(0), entry(0.02, B, client="h1")])
    assert any("before run" in p for p in checks.overlaps(handover, {"o1": 2}))
    # Other owners' runs at the same time are fine.
    owners = checks.parse(
        [entry(0), entry(0.01, B, login="o2"), entry(0.3), entry(0.31, B, login="o2")]
    )
    assert checks.overlaps(owners, {"o1": 1, "o2": 1}) == []


def test_rates_over_the_limits_are_reported() -> None:
    # 8/s overall (8 saved up), 3/s per owner: a steady 8/s from four owners passes.
    steady = checks.parse(entry(n / 8, login=f"o{n % 4}") for n in range(80))
    report = checks.rates(steady, rate_global=8, rate_per_token=3)
    assert report.problems() == []
    assert report.peak_overall_per_s == 8
    # Twice the overall rate (as if each of two hosts had its own bucket).
    doubled = checks.parse(entry(n / 16, login=f"o{n % 8}") for n in range(160))
    assert any(
        p.startswith("overall")
        for p in checks.rates(doubled, rate_global=8, rate_per_token=3).problems()
    )
    # One owner at 6/s.
    greedy = checks.parse(entry(n / 6) for n in range(60))
    assert any(
        p.startswith("o1") for p in checks.rates(greedy, rate_global=8, rate_per_token=3).problems()
    )


def test_max_in_window_counts_arrivals_in_any_stretch() -> None:
    assert checks.max_in_window([0, 0.5, 0.99, 1.0, 5], 1.0) == 3
    assert checks.max_in_window([], 1.0) == 0
    assert checks.allowed_in_window(8, 8, 4, 0.5) == 44


def _state(**changes: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "transactions": {"1": [100, 7, 1, "deducted"], "2": [200, 7, 2, "deducted"]},
        "recipes": {"7:1": {"Кофе": "8"}, "7:2": {"Кофе": "8", "Молоко": "100"}},
        "stock": {"7:Кофе": "984", "7:Молоко": "900"},
        "initial": "1000",
    }
    state.update(changes)
    return state


SALES = [
    {"id": 1, "sum": 100, "term_id": 7, "machine_item": [{"machine_item_id": 1}]},
    {"id": 2, "sum": 200, "term_id": 7, "machine_item": [{"machine_item_id": 2}]},
]


def test_exactness_sees_lost_extra_undeducted_and_double_deducted_sales() -> None:
    assert checks.exactness(SALES, _state()) == []
    lost = _state(transactions={"1": [100, 7, 1, "deducted"]})
    assert checks.exactness(SALES, lost)[0] == "transaction 2 not stored"
    extra = _state(transactions={**_state()["transactions"], "3": [1, 7, 1, "deducted"]})
    assert "transaction 3 stored but not the sandbox's" in checks.exactness(SALES, extra)
    pending = _state(transactions={"1": [100, 7, 1, "pending"], "2": [200, 7, 2, "deducted"]})
    assert checks.exactness(SALES, pending) == ["transaction 1 is pending, want deducted"]
    twice = _state(stock={"7:Кофе": "976", "7:Молоко": "900"})
    assert checks.exactness(SALES, twice) == ["stock 7:Кофе is 976, want 984"]


def test_per_run_starts_allow_a_yielding_runs_stretches_and_catch_an_interleaving() -> None:
    # Run A started three times (one attempt, two yields), run B once, taking turns.
    turns = checks.parse([entry(0), entry(1, B, client="h1"), entry(2), entry(3, B), entry(4)])
    assert checks.overlaps(turns, {("o1", A): 3, ("o1", B): 2}) == []
    # The same turns with run A started only twice: it talked in three stretches.
    assert any(
        "3 stretches, 2 starts" in p for p in checks.overlaps(turns, {("o1", A): 2, ("o1", B): 2})
    )
