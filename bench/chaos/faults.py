"""The seeded fault schedule of a chaos run and the code that applies each fault.

Six lanes run side by side, one per kind, each one fault at a time, each fault held for a seeded
time and followed by a seeded pause: Redis, PostgreSQL, a worker pool child, the whole worker,
beat, and the Vendista lane, which freezes the sandbox (SIGSTOP) for longer than the owner lock's
lifetime, then thaws it (SIGCONT). Faults of different kinds overlap (Redis and PostgreSQL may be
down together, a pool child dies while beat restarts), as they may in production. A
fault's recovery time is measured from its end (the process restarted) until `/healthz` answers
200 again; a freeze's, until the thawed sandbox answers again.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from bench.chaos.stack import Stack

# Lanes run side by side; inside a lane one fault at a time.
LANE_NAMES = ("redis", "postgres", "worker_child", "worker", "beat", "vendista")
LANE_KINDS = (("redis",), ("postgres",), ("worker_child",), ("worker",), ("beat",))
MAIN_KINDS = tuple(kind for kinds in LANE_KINDS for kind in kinds)
KINDS = (*MAIN_KINDS, "vendista_freeze")


@dataclass(frozen=True)
class Fault:
    kind: str
    pause_s: float  # before the fault, after the previous one recovered
    hold_s: float  # how long the service stays down (frozen)
    pick: int  # which pool child, for worker_child

    def describe(self) -> str:
        return f"{self.kind}(pause={self.pause_s:.2f}s hold={self.hold_s:.2f}s pick={self.pick})"


Lanes = tuple[list[Fault], ...]


def schedule(seed: int, per_kind: int, lock_ttl: int) -> Lanes:
    """The lanes for `seed`: `per_kind` faults of every kind. Same seed, same schedule."""
    rng = random.Random(f"chaos-faults:{seed}")
    lanes: list[list[Fault]] = []
    for lane_kinds in LANE_KINDS:
        kinds = [kind for kind in lane_kinds for _ in range(per_kind)]
        rng.shuffle(kinds)
        lanes.append(
            [
                Fault(
                    kind,
                    round(rng.uniform(0.1, 0.8), 2),
                    round(rng.uniform(0.2, 0.8), 2),
                    rng.randrange(8),
                )
                for kind in kinds
            ]
        )
    freezes = [
        Fault(
            "vendista_freeze",
            round(rng.uniform(0.2, 1.0), 2),
            round(lock_ttl + rng.uniform(0.5, 1.5), 2),
            0,
        )
        for _ in range(per_kind)
    ]
    return (*lanes, freezes)


def fingerprint(lanes: Lanes) -> str:
    text = "|".join(f.describe() for lane in lanes for f in lane)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Applied:
    kind: str
    started: float
    ended: float
    recovery_s: float
    note: str = ""


class Injector:
    def __init__(self, stack: Stack, log: Any, recovery_cap_s: float) -> None:
        self.stack = stack
        self.say = log
        self.cap = recovery_cap_s
        self.applied: list[Applied] = []
        self._lock = threading.Lock()

    def run_lane(self, lane: list[Fault], stop: threading.Event) -> None:
        for fault in lane:
            if stop.wait(fault.pause_s):
                return
            started = time.monotonic()
            note = self.apply(fault)
            ended = time.monotonic()
            recovery = self.recovery(fault.kind)
            with self._lock:
                self.applied.append(Applied(fault.kind, started, ended, recovery, note))
            number = len(self.applied)
            self.say(f"fault {number:3d} {fault.describe()} recovered in {recovery:.1f}s {note}")

    def recovery(self, kind: str) -> float:
        start = time.monotonic()
        healthy = self.stack.vendista_answers if kind == "vendista_freeze" else self.stack.healthy
        while not healthy():
            if time.monotonic() - start > self.cap:
                return self.cap
            time.sleep(0.2)
        return time.monotonic() - start

    def apply(self, fault: Fault) -> str:
        stack = self.stack
        if fault.kind == "redis":
            stack.kill_redis()
            time.sleep(fault.hold_s)
            stack.start_redis()
            return ""
        if fault.kind == "postgres":
            stack.kill_postgres()
            time.sleep(fault.hold_s)
            stack.start_postgres()
            return ""
        if fault.kind == "vendista_freeze":
            pid = stack.pid("vendista")
            assert pid is not None
            os.kill(pid, signal.SIGSTOP)
            try:
                time.sleep(fault.hold_s)
            finally:
                os.kill(pid, signal.SIGCONT)
            return ""
        name = "beat" if fault.kind == "beat" else "worker"
        proc = stack.procs[name]
        with proc.lock:
            if fault.kind == "worker_child":
                # The whole worker may be restarting (another lane): wait until it runs (its
                # consumer answers the ping). A child killed while the pool is still starting
                # makes Celery give up ("Could not start worker processes"), which is the
                # supervisor's case, not this fault's.
                deadline = time.monotonic() + 60
                while not ((children := stack.children("worker")) and stack.healthy()):
                    if time.monotonic() > deadline:
                        return "(no pool child alive)"
                    time.sleep(0.2)
                victim = children[fault.pick % len(children)]
                try:
                    os.kill(victim, signal.SIGKILL)
                except ProcessLookupError:
                    return "(child already gone)"
                return ""
            stack.kill(name)
            time.sleep(fault.hold_s)
            stack.start(name)
        return ""
