"""Several worker hosts in one test (marker `multihost`, root only): three network namespaces,
each running a real Celery worker (and beat) against one PostgreSQL, one Redis and the Vendista
sandbox in the root namespace, reached over veth links (tests/scaleout/hosts.py).

What the fleet must guarantee, judged from the sandbox's request log and the final state:
an owner's runs never overlap across hosts and Vendista's limits hold fleet-wide; a host cut off
mid-import is taken over within the lease bound and does no duplicate work when it comes back;
the standby beat takes over when the leader's host dies. The same checks catch the guarantees
broken on purpose (tests/scaleout/sabotage.py, and no standby beat).
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.chaos.stack import wait_until
from tests.scaleout import checks
from tests.scaleout.hosts import FLEET_SETTINGS, SWEEP_EVERY_S, Fleet

pytestmark = [pytest.mark.multihost, pytest.mark.timeout(600)]

RATE_GLOBAL = float(FLEET_SETTINGS["VENDISTA_RATE_GLOBAL"])
RATE_PER_TOKEN = float(FLEET_SETTINGS["VENDISTA_RATE_PER_TOKEN"])
PAGE_SIZE = int(FLEET_SETTINGS["VENDISTA_PAGE_SIZE"])
LOCK_TTL = float(FLEET_SETTINGS["VENDISTA_LOCK_TTL"])
STALE_AFTER = max(float(FLEET_SETTINGS["VENDISTA_RUN_STALE_AFTER"]), LOCK_TTL)
BUSY_RETRY = float(FLEET_SETTINGS["VENDISTA_BUSY_RETRY_SECONDS"])
BEAT_TTL = float(FLEET_SETTINGS["BEAT_LEADER_TTL"])
PASSWORD = "fleet-vendista-pw"
# A fixed day well before any beat window (the sales' own dates; nothing here reads the clock to
# decide an outcome).
DAY = date.today() - timedelta(days=40)
# How long after the last heartbeat of a cut-off host another host resumes its run at the
# latest: the lease lapses (stale after max(VENDISTA_RUN_STALE_AFTER, VENDISTA_LOCK_TTL)), the
# next sweep re-queues the run, a busy retry if the lock has not quite expired, plus the time to
# hand the task to a worker and take a rate-limit token.
TAKEOVER_BOUND_S = STALE_AFTER + SWEEP_EVERY_S + BUSY_RETRY + 3.0


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    fleet = Fleet(Path(tmp_path_factory.mktemp("fleet")), hosts=3)
    try:
        fleet.start()
        yield fleet
    finally:
        fleet.close()


def plan_owner(n: int, sales: int) -> dict[str, Any]:
    """One sandbox account: two terminals, `sales` paid drink sales on DAY (items 1-3)."""
    terminals = [{"id": 600_000 + 10 * n + t, "comment": f"Fleet {n}.{t}"} for t in (1, 2)]
    start = datetime(DAY.year, DAY.month, DAY.day, 8, 0, 0)
    rows = []
    for k in range(sales):
        item = 1 + (k * 7) % 3
        rows.append(
            {
                "id": 3_000_000_000 + 100_000 * n + k,
                "term_id": terminals[k % 2]["id"],
                "time": (start + timedelta(seconds=31 * k)).isoformat(),
                "sum": 10_000 + 500 * item,
                "result": 1,
                "reverse_id": 0,
                "machine_item": [{"machine_item_id": item}],
            }
        )
    return {
        "login": f"fleet-{n}",
        "password": PASSWORD,
        "terminals": terminals,
        "transactions": rows,
        "items": 3,
    }


def window(shift_s: int = 0) -> tuple[str, str]:
    """DAY as a window (Moscow); `shift_s` widens it by that many seconds on both ends, which
    makes another run's window at the sandbox without changing which sales it covers (queued
    after the narrower one, it is not de-duplicated away: no active run covers it)."""
    first = datetime(DAY.year, DAY.month, DAY.day, 0, 0, 0) - timedelta(seconds=shift_s)
    last = datetime(DAY.year, DAY.month, DAY.day, 23, 59, 59) + timedelta(seconds=shift_s)
    return f"{first.isoformat()}+03:00", f"{last.isoformat()}+03:00"


def seed(fleet: Fleet, owners: list[dict[str, Any]]) -> dict[str, int]:
    for owner in owners:
        body = {k: owner[k] for k in ("login", "password", "terminals", "transactions")}
        response = requests.post(f"{fleet.vendista_url}/_sandbox/accounts", json=body, timeout=30)
        response.raise_for_status()
    spec = {
        "owners": [
            {k: owner[k] for k in ("login", "password", "terminals", "items")} for owner in owners
        ]
    }
    return dict(fleet.driver("seed", _json(spec))["owners"])


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def active_runs(fleet: Fleet) -> int:
    with fleet.pg() as conn:
        row = conn.execute(
            "SELECT count(*) FROM vendista_importrun WHERE status IN ('queued', 'running')"
        ).fetchone()
    assert row is not None
    return int(row[0])


def all_sales(owners: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [sale for owner in owners for sale in owner["transactions"]]


def import_many_owners(fleet: Fleet, *, sabotage: bool) -> tuple[list[checks.Seen], Any, Any]:
    """Six owners, two runs each over the same sales (different windows), queued at once to a
    worker on each of three hosts; returns the sandbox's log, the owners and the final state."""
    fleet.reset()
    owners = [plan_owner(n, 40 + 24 * n) for n in range(6)]
    ids = seed(fleet, owners)
    for host in fleet.hosts:
        entry = ["-m", "tests.scaleout.sabotage", "per-host", host.name] if sabotage else None
        fleet.start_worker(host, entry=entry)
    fleet.wait_workers_ready(fleet.hosts)
    pairs = [[ids[o["login"]], *window(shift)] for shift in (0, 1) for o in owners]
    run_ids = fleet.driver("enqueue", _json(pairs))
    assert all(run_ids), run_ids
    wait_until(lambda: active_runs(fleet) == 0, 240, interval=1)
    state = fleet.driver("state")
    return checks.parse(fleet.sandbox_log()), owners, state


def starts_per_run(
    state: dict[str, Any], requests_seen: list[checks.Seen]
) -> dict[tuple[str, checks.Window], int]:
    """Per run, as (login, window at the sandbox): how often it was started — its attempts and
    its yields (a run that yields goes back to the queue and is started again when its token
    allows). Each owner's two runs were queued narrow window first; the wider one starts a
    second earlier, so newest first the narrow one comes first."""
    ids = state["owner_logins"]
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in sorted(state["runs"], key=lambda r: r["id"]):
        runs[ids[str(run["owner_id"])]].append(run)
    windows: dict[str, set[checks.Window]] = defaultdict(set)
    for seen in requests_seen:
        if seen.path == "/transactions":
            windows[seen.login].add(seen.window)
    return {
        (login, run_window): int(run["attempts"]) + int(run["yields"])
        for login, owned in runs.items()
        for run, run_window in zip(owned, sorted(windows[login], reverse=True), strict=False)
    }


def test_owners_imported_across_hosts_never_overlap_and_the_limits_hold(fleet: Fleet) -> None:
    requests_seen, owners, state = import_many_owners(fleet, sabotage=False)
    assert [r["status"] for r in state["runs"]] == ["succeeded"] * 12, state["runs"]
    spans = checks.run_spans(requests_seen)
    assert len(spans) == 12
    # The work was shared: runs on every host, and some owner's runs on two hosts.
    clients = {r.client for r in requests_seen if r.path == "/transactions"}
    assert len(clients) == 3, clients
    assert checks.overlaps(requests_seen, starts_per_run(state, requests_seen)) == []
    report = checks.rates(requests_seen, rate_global=RATE_GLOBAL, rate_per_token=RATE_PER_TOKEN)
    assert report.problems() == [], report
    # The limit bound the run: at some moment the fleet went at the overall rate.
    assert report.overall_max >= RATE_GLOBAL * 4 * 0.75, report
    assert checks.exactness(all_sales(owners), state) == []
    retried = [r for r in state["runs"] if r["attempts"] > 1]
    print(f"multihost: {len(requests_seen)} requests, {report}, retried {retried}")


def test_the_checks_catch_a_fleet_whose_lock_and_limits_are_per_host(fleet: Fleet) -> None:
    """The same import with each host keeping the owner lock and the rate buckets to itself:
    the overlap and the excess rates are seen at the sandbox."""
    requests_seen, _owners, state = import_many_owners(fleet, sabotage=True)
    assert {r["status"] for r in state["runs"]} == {"succeeded"}, state["runs"]
    assert checks.overlaps(requests_seen, starts_per_run(state, requests_seen)), "no overlap seen"
    report = checks.rates(requests_seen, rate_global=RATE_GLOBAL, rate_per_token=RATE_PER_TOKEN)
    assert report.overall_max > report.overall_allowed, report
    assert any(n > report.per_token_allowed for n in report.per_token_max.values()), report
    found = checks.overlaps(requests_seen, starts_per_run(state, requests_seen))
    print(f"multihost (per-host lock and buckets): {len(found)} overlaps, {report}")


TASK_LINE = re.compile(r"Task vendista\.tasks\.execute_run\[([0-9a-f-]+)\] (\w+)")


def task_ended(worker_log: str) -> bool:
    """Every `execute_run` task the worker received has an outcome in its log (succeeded —
    also for a lease lost —, retry, raised)."""
    received: set[str] = set()
    ended: set[str] = set()
    for task_id, word in TASK_LINE.findall(worker_log):
        (received if word == "received" else ended).add(task_id)
    return bool(received) and received <= ended


@dataclass
class Cut:
    """What one cut of a host's link mid-import showed."""

    run_id: int
    pages: int
    takeover_s: float
    first: checks.Seen  # the other host's first request after the cut
    last_page_before: int  # the highest page the cut-off host had asked for
    late: list[checks.Seen]  # the cut-off host's requests after the takeover
    pages_asked: Counter[int]  # how often each page of the run was asked for, by any host
    run: dict[str, Any]
    state: dict[str, Any]
    victim_log: Path
    facts: str


def cut_one_host_mid_import(fleet: Fleet, owner: dict[str, Any]) -> Cut:
    """One large owner's run on one of two worker hosts (beat with the stalled-run sweep on
    the third); once that host is a few pages in, its link goes down; once another host has
    resumed the run, the link comes back."""
    fleet.reset()
    ids = seed(fleet, [owner])
    fleet.driver("schedule", _json({"every": {"vendista-resume-stalled-runs": SWEEP_EVERY_S}}))
    workers, beat_host = fleet.hosts[:2], fleet.hosts[2]
    for host in workers:
        fleet.start_worker(host)
    fleet.start_beat(beat_host)
    fleet.wait_workers_ready(workers)
    [run_id] = fleet.driver("enqueue", _json([[ids[owner["login"]], *window()]]))
    by_address = {host.address: host for host in workers}

    def pages_seen() -> list[checks.Seen]:
        return [r for r in checks.parse(fleet.sandbox_log()) if r.path == "/transactions"]

    wait_until(lambda: len(pages_seen()) >= 6, 120)
    victim = by_address[pages_seen()[-1].client]
    fleet.net.cut(victim.n)
    cut_at = time.time()
    last_page_before = max(r.page for r in pages_seen() if r.client == victim.address)

    def taken_over() -> checks.Seen | None:
        return next(
            (r for r in pages_seen() if r.client != victim.address and r.started > cut_at), None
        )

    wait_until(lambda: taken_over() is not None, 60, interval=0.2)
    first = taken_over()
    assert first is not None
    # Heal the link while the other host is still inside the run.
    fleet.net.restore(victim.n)
    restored_at = time.time()
    wait_until(lambda: active_runs(fleet) == 0, 180, interval=1)
    finished_s = time.time() - cut_at
    victim_log = victim.procs["worker"].log

    def late() -> list[checks.Seen]:
        return [r for r in pages_seen() if r.client == victim.address and r.started > first.started]

    def stale_attempt_ended() -> bool:
        # The cut-off attempt wakes and ends: on LeaseLost, on its dropped database session or
        # its unreachable rate limit (then retried later, to find the run finished); whichever,
        # its task is over (the run's own end is checked below).
        return task_ended(victim_log.read_text(errors="replace"))

    wait_until(stale_attempt_ended, 120, interval=1)
    stopped_s = time.time() - restored_at
    state = fleet.driver("state")
    [run] = state["runs"]
    takeover_s = first.started - cut_at
    facts = (
        f"takeover {takeover_s:.1f}s (bound {TAKEOVER_BOUND_S:.1f}s), link down "
        f"{restored_at - cut_at:.1f}s, the stale attempt ended {stopped_s:.1f}s after the link "
        f"came back, late requests from the cut host: {len(late())}, run done {finished_s:.1f}s "
        "after the cut"
    )
    return Cut(
        run_id,
        math.ceil(len(owner["transactions"]) / PAGE_SIZE),
        takeover_s,
        first,
        last_page_before,
        late(),
        Counter(r.page for r in pages_seen()),
        run,
        state,
        victim_log,
        facts,
    )


def test_a_host_cut_off_mid_import_is_taken_over_and_does_no_duplicate_work(
    fleet: Fleet,
) -> None:
    big = plan_owner(0, 450)
    cut = cut_one_host_mid_import(fleet, big)
    assert cut.takeover_s <= TAKEOVER_BOUND_S, cut.facts
    assert cut.first.page > 1  # resumed after the last committed page, not from the start
    # (Its attempts need not show the takeover: a run cut off between two yields is taken over
    # as its next start, which counts as a yield.)
    assert cut.run["status"] == "succeeded", cut.run
    # Every page committed once: the counts of one clean pass over the window.
    sales = len(big["transactions"])
    done = (cut.run["pages_done"], cut.run["fetched"], cut.run["inserted"], cut.run["deducted"])
    assert done == (cut.pages, sales, sales, sales), cut.run
    assert checks.exactness(big["transactions"], cut.state) == []
    # No duplicate work: every page asked for once, but for what the cut-off host had in hand
    # when its link went dark (the page on the wire and the one being written), which the host
    # taking over asks for again. Back on the network, the cut-off host is one of the fleet again:
    # it may serve a later start of the run (after a yield), never a page already done.
    again = {page: n for page, n in cut.pages_asked.items() if n > 1}
    assert all(n == 2 and page >= cut.last_page_before - 1 for page, n in again.items()), (
        again,
        cut.facts,
    )
    assert sorted(cut.pages_asked) == list(range(1, cut.pages + 1)), cut.pages_asked
    print(f"multihost: {cut.facts}")


def beat_leader(fleet: Fleet) -> str:
    value = fleet.redis().get("vk:beat:leader")
    return value.decode() if isinstance(value, bytes) else ""


def sync_runs(fleet: Fleet) -> int:
    with fleet.pg() as conn:
        row = conn.execute("SELECT count(*) FROM vendista_importrun WHERE kind = 'sync'").fetchone()
    assert row is not None
    return int(row[0])


def test_the_standby_beat_takes_over_when_the_leaders_host_dies(fleet: Fleet) -> None:
    fleet.reset()
    seed(fleet, [plan_owner(0, 5)])
    fleet.driver("schedule", _json({"every": {"vendista-terminal-sync-15min": 2}}))
    leader_host, standby_host, other = fleet.hosts
    for host in fleet.hosts:
        fleet.start_worker(host)
    fleet.wait_workers_ready(fleet.hosts)
    fleet.start_beat(leader_host)
    leader_pid = leader_host.procs["beat"].popen.pid  # type: ignore[union-attr]
    wait_until(lambda: f":{leader_pid}:" in beat_leader(fleet), 60)
    fleet.start_beat(standby_host)
    standby_pid = standby_host.procs["beat"].popen.pid  # type: ignore[union-attr]
    # The leader's schedule fires (terminal syncs every 2 s); the standby sends nothing.
    start = sync_runs(fleet)
    wait_until(lambda: sync_runs(fleet) >= start + 3, 60)
    assert "now the leader" not in standby_host.procs["beat"].log.read_text()

    fleet.kill_host(leader_host)
    killed_at = time.monotonic()
    wait_until(lambda: f":{standby_pid}:" in beat_leader(fleet), 30, interval=0.1)
    takeover_s = time.monotonic() - killed_at
    after = sync_runs(fleet)
    wait_until(lambda: sync_runs(fleet) >= after + 3, 30)
    # core/scheduler.py: the lock lapses a TTL after the leader's last extension and a standby
    # tries every third of it; a second for the processes to be scheduled on a busy machine.
    assert takeover_s <= BEAT_TTL * 4 / 3 + 1.0, takeover_s
    assert fleet.redis().get("vk:beat:generation") == b"2"

    # The check can fail: with no beat left, the schedule stops.
    fleet.kill_host(standby_host)
    time.sleep(2)  # a tick already sent is still being run
    stopped = sync_runs(fleet)
    time.sleep(3 * 2)  # three ticks' time
    assert sync_runs(fleet) == stopped
    assert other.procs["worker"].popen.poll() is None  # type: ignore[union-attr]
    print(f"multihost: beat takeover {takeover_s:.1f}s (leader TTL {BEAT_TTL:.0f}s)")
