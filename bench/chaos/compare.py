"""Compare the final state of a chaos run with the fault-free run of the same seed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

EXACT = ("transactions", "payments", "reports")
COUNTED = ("tasks", "sessions", "psp_refunds", "email", "sms", "telegram")
# Channels whose providers take no idempotency key for a send (README: "at most one more copy"):
# a worker killed after the provider accepted a message and before it was recorded sends it once
# more. Such a copy is allowed once per interrupted attempt of that delivery (its `attempts`
# beyond the first, `_retried_sends` in the snapshot) and counted apart; any other extra copy is
# a duplicate.
AT_MOST_ONCE_MORE = ("email", "sms", "telegram")


@dataclass
class Verdict:
    lost: int = 0
    duplicated: int = 0
    repeated: int = 0
    lines: list[tuple[str, str]] = field(default_factory=list)
    per_category: Counter[str] = field(default_factory=Counter)

    def add(self, category: str, what: str, text: str, count: int = 1) -> None:
        if what == "lost":
            self.lost += count
        elif what == "repeated":
            self.repeated += count
        else:
            self.duplicated += count
        self.per_category[f"{category}.{what}"] += count
        self.lines.append((f"{category}.{what}", f"{what} {category}: {text}"))


def compare(control: dict[str, Any], chaos: dict[str, Any]) -> Verdict:
    verdict = Verdict()
    for category in EXACT:
        want, got = control[category], chaos[category]
        for key, value in want.items():
            if key not in got:
                verdict.add(category, "lost", f"{key} missing (want {value})")
            elif got[key] != value:
                verdict.add(category, "lost", f"{key} is {got[key]}, want {value}")
        for key in got.keys() - want.keys():
            verdict.add(category, "duplicated", f"{key} extra ({got[key]})")
    want_stock, got_stock = control["stock"], chaos["stock"]
    for key in want_stock.keys() | got_stock.keys():
        want_q = Decimal(want_stock.get(key, "0"))
        got_q = Decimal(got_stock.get(key, "0"))
        if got_q < want_q:
            verdict.add("stock", "duplicated", f"{key} is {got_q}, want {want_q} (deducted again)")
        elif got_q > want_q:
            verdict.add("stock", "lost", f"{key} is {got_q}, want {want_q} (deduction missing)")
    retried: Counter[str] = Counter(chaos.get("_retried_sends", {}))
    for category in COUNTED:
        want_c, got_c = Counter(control[category]), Counter(chaos[category])
        for key in want_c.keys() | got_c.keys():
            diff = got_c[key] - want_c[key]
            short = key if len(key) < 160 else key[:157] + "..."
            if diff < 0:
                verdict.add(
                    category, "lost", f"{short!r} ×{want_c[key]} want, ×{got_c[key]} got", -diff
                )
            elif diff > 0:
                text = f"{short!r} ×{want_c[key]} want, ×{got_c[key]} got"
                allowed = retried[f"{category}|{key}"] if category in AT_MOST_ONCE_MORE else 0
                if min(diff, allowed):
                    verdict.add(
                        category, "repeated", text + " (a send interrupted)", min(diff, allowed)
                    )
                if diff > allowed:
                    verdict.add(category, "duplicated", text, diff - allowed)
    for key, count in chaos["digest_coverage"].items():
        if count == 0:
            verdict.add(
                "digest",
                "lost",
                f"stock change {key.split(':')[1]} never reached chat {key.split(':')[0]}",
            )
        elif count > 1:
            verdict.add(
                "digest",
                "duplicated",
                f"stock change {key} reached its chat {count} times",
                count - 1,
            )
    return verdict


def invariant_problems(state: dict[str, Any]) -> list[str]:
    """What even a fault-free run must satisfy (checked on the control run)."""
    problems = [
        f"digest coverage {key} = {count}"
        for key, count in state["digest_coverage"].items()
        if count != 1
    ]
    for category in ("transactions", "reports", "email", "sms", "telegram"):
        if not state[category]:
            problems.append(f"the workload produced no {category}")
    # A late success is given back: a refund at the PSP, or the hold cancelled (no refund needed).
    if not any(value.endswith("/succeeded") for value in state["payments"].values()):
        problems.append("the workload gave back no late payment")
    return problems
