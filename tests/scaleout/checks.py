"""What the multi-host tests judge, from the Vendista sandbox's request log and the final state.
Plain functions over plain data, so each can be shown to fail (tests/scaleout/test_checks.py).

A run is known at the sandbox by its owner's login and its window (`DateFrom`/`DateTo`, fixed
for the whole run and different for every run the tests queue); the host by the address a
request came from (each host has its own).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Any

Window = tuple[str, str]

# The Vendista API calls every one of which takes a token from our shared buckets.
LIMITED_PATHS = ("/token", "/transactions", "/terminals", "/coffee_shop")


@dataclass(frozen=True)
class Seen:
    """One request as the sandbox logged it."""

    login: str
    path: str
    started: float
    ended: float
    client: str
    window: tuple[str, str]
    page: int

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> Seen:
        params = entry.get("params") or {}
        return cls(
            login=str(entry.get("login") or ""),
            path=str(entry["path"]),
            started=float(entry["started"] if "started" in entry else entry["timestamp"]),
            ended=float(entry["timestamp"]),
            client=str(entry.get("client") or ""),
            window=(str(params.get("DateFrom", "")), str(params.get("DateTo", ""))),
            page=int(params.get("PageNumber") or 0),
        )


def parse(log: Iterable[Mapping[str, Any]]) -> list[Seen]:
    return sorted((Seen.of(entry) for entry in log), key=lambda r: r.started)


@dataclass(frozen=True)
class RunSpan:
    login: str
    window: tuple[str, str]
    start: float
    end: float
    clients: frozenset[str]


def run_spans(requests: Iterable[Seen]) -> list[RunSpan]:
    """Per run (login, window): from its first request's arrival to its last answer."""
    grouped: dict[tuple[str, tuple[str, str]], list[Seen]] = defaultdict(list)
    for request in requests:
        if request.path == "/transactions":
            grouped[(request.login, request.window)].append(request)
    return [
        RunSpan(
            login,
            window,
            min(r.started for r in rows),
            max(r.ended for r in rows),
            frozenset(r.client for r in rows),
        )
        for (login, window), rows in grouped.items()
    ]


def overlaps(
    requests: Iterable[Seen],
    attempts: Mapping[Any, int],  # login or (login, window) -> starts
) -> list[str]:
    """Where two runs of one owner talked to Vendista at the same time.

    Under the owner lock each attempt of a run holds the owner for one stretch of time, and the
    next attempt (of any run) starts only after it let go. So, in the order they arrived, an
    owner's requests form blocks of one run each: at most one block per start (`attempts`:
    per login, or per run as (login, window), the attempts and yields), and a block's first
    request arrives after the previous block's last answer went out. Runs that alternate (one
    waits for a token or is re-queued, another goes on) pass; runs that interleave do not."""
    found = []
    by_login: dict[str, list[Seen]] = defaultdict(list)
    for request in requests:
        if request.path == "/transactions":
            by_login[request.login].append(request)
    for login, rows in sorted(by_login.items()):
        rows.sort(key=lambda r: r.started)
        blocks: list[list[Seen]] = []
        for row in rows:
            if blocks and blocks[-1][-1].window == row.window:
                blocks[-1].append(row)
            else:
                blocks.append([row])
        if login in attempts:
            if len(blocks) > attempts[login]:
                found.append(
                    f"{login}: {len(blocks)} alternations between runs in "
                    f"{attempts[login]} attempts"
                )
        else:  # per run: (login, window) -> that run's starts
            for run_window, count in Counter(block[0].window for block in blocks).items():
                allowed = attempts.get((login, run_window), 0)
                if count > allowed:
                    found.append(f"{login}: run {run_window}: {count} stretches, {allowed} starts")
        for previous, block in pairwise(blocks):
            ended = max(r.ended for r in previous)
            if block[0].started < ended:
                found.append(
                    f"{login}: run {block[0].window} asked at {block[0].started:.3f} before run "
                    f"{previous[0].window}'s answer at {ended:.3f} "
                    f"({block[0].client} / {previous[-1].client})"
                )
    return found


def max_in_window(times: Iterable[float], window: float) -> int:
    """The most arrivals in any interval of `window` seconds."""
    ordered = sorted(times)
    best, first = 0, 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


def allowed_in_window(rate: float, burst: float, window: float, jitter: float) -> int:
    """What a token bucket (`rate`/s, `burst` saved up) lets through in `window` seconds, as
    seen at the far end: grants spread over the window, plus `jitter` seconds for the spread
    of the time between a grant and its request's arrival (process scheduling, the link)."""
    return int(rate * (window + jitter) + burst)


@dataclass(frozen=True)
class RateReport:
    overall_max: int
    overall_allowed: int
    per_token_max: dict[str, int]
    per_token_allowed: int
    peak_overall_per_s: int
    peak_token_per_s: int

    def problems(self) -> list[str]:
        found = []
        if self.overall_max > self.overall_allowed:
            found.append(f"overall: {self.overall_max} requests > {self.overall_allowed} allowed")
        for login, count in sorted(self.per_token_max.items()):
            if count > self.per_token_allowed:
                found.append(f"{login}: {count} requests > {self.per_token_allowed} allowed")
        return found


def rates(
    requests: Iterable[Seen],
    *,
    rate_global: float,
    rate_per_token: float,
    window: float = 4.0,
    jitter: float = 0.5,
) -> RateReport:
    """The most requests the sandbox saw in any `window` seconds, overall and per owner,
    against the product's buckets (core/ratelimit.py; vendista/client.py: the overall bucket
    saves up `rate_global` tokens, an owner's one)."""
    limited = [r for r in requests if r.path in LIMITED_PATHS]
    by_login: dict[str, list[float]] = defaultdict(list)
    for request in limited:
        by_login[request.login].append(request.started)
    times = [r.started for r in limited]
    return RateReport(
        overall_max=max_in_window(times, window),
        overall_allowed=allowed_in_window(rate_global, max(1.0, rate_global), window, jitter),
        per_token_max={login: max_in_window(t, window) for login, t in by_login.items()},
        per_token_allowed=allowed_in_window(rate_per_token, 1.0, window, jitter),
        peak_overall_per_s=max_in_window(times, 1.0),
        peak_token_per_s=max((max_in_window(t, 1.0) for t in by_login.values()), default=0),
    )


def expected_stock(
    sales: Iterable[Mapping[str, Any]], recipes: Mapping[str, Mapping[str, str]], stock: Any
) -> dict[str, Decimal]:
    """Every machine row after each sale deducted its recipe exactly once: from the sales the
    sandbox was given (each a paid, unreversed sale of a drink) and the recipes."""
    keys: Iterable[str] = stock.keys() if isinstance(stock, Mapping) else stock
    want = {key: Decimal(0) for key in keys}
    for sale in sales:
        item = sale["machine_item"][0]["machine_item_id"]
        for ingredient, quantity in recipes.get(f"{sale['term_id']}:{item}", {}).items():
            key = f"{sale['term_id']}:{ingredient}"
            if key in want:
                want[key] -= Decimal(quantity)
    return want


def exactness(sales: Sequence[Mapping[str, Any]], state: Mapping[str, Any]) -> list[str]:
    """The final state is exact: the stored transactions are the sandbox's (same ids, amounts,
    terminals, items; each deducted) and every stock row lost exactly what its sales take."""
    found = []
    stored: dict[str, list[Any]] = state["transactions"]
    want = {
        str(s["id"]): [s["sum"], s["term_id"], s["machine_item"][0]["machine_item_id"]]
        for s in sales
    }
    for tx_id in sorted(want.keys() - stored.keys()):
        found.append(f"transaction {tx_id} not stored")
    for tx_id in sorted(stored.keys() - want.keys()):
        found.append(f"transaction {tx_id} stored but not the sandbox's")
    for tx_id in sorted(want.keys() & stored.keys()):
        if stored[tx_id][:3] != want[tx_id]:
            found.append(f"transaction {tx_id} stored as {stored[tx_id][:3]}, want {want[tx_id]}")
        elif stored[tx_id][3] != "deducted":
            found.append(f"transaction {tx_id} is {stored[tx_id][3]}, want deducted")
    initial = Decimal(state["initial"])
    taken = expected_stock(sales, state["recipes"], state["stock"])
    for key, delta in sorted(taken.items()):
        got = Decimal(state["stock"][key])
        if got != initial + delta:
            found.append(f"stock {key} is {got}, want {initial + delta}")
    return found
