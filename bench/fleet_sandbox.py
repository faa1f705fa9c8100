"""The fleet of the fleet-cycle benchmark: N Vendista owners of realistic sizes, served by one
Vendista sandbox process.

    python -m bench.fleet_sandbox --owners 2000 --seed fleet --manifest var/fleet.json --port 0

prints the sandbox's URL once it serves, after writing the manifest (each owner's login,
password, the token the sandbox issued, its terminals and how many transactions it holds), so
the benchmark can seed the database with owners whose stored tokens already work.

Sizes (`fleet_spec`): most owners have 1–20 terminals (1/k weights: many small ones) and 5–50
sales per terminal in the last 24 h — a page (1,000) or less; one owner in 250 (at least one) is
large: 100–300 terminals and 10–40 pages. Every transaction lies in the 24 h before generation
(minus a minute), so a `last_24h` window opened after it reads them all.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sandboxes.vendista import (
    FIRST_TRANSACTION_ID,
    SandboxAccount,
    SandboxTerminal,
    SandboxTransaction,
    VendistaSandbox,
)
from sandboxes.vendista.data import moscow_now

PAGE = 1000
ID_SPAN = 10_000_000  # transaction ids per owner (Vendista's ids are global: no overlap)
PRICES = (9_000, 12_000, 13_500, 15_000, 16_000, 18_000, 19_500, 22_000)


@dataclass(frozen=True)
class OwnerSpec:
    index: int
    terminals: int
    transactions: int

    @property
    def login(self) -> str:
        return f"fleet-{self.index:05d}"

    @property
    def large(self) -> bool:
        return self.transactions > PAGE


def fleet_spec(owners: int, seed: str = "fleet") -> list[OwnerSpec]:
    """The owners' sizes, the same for the same arguments. The large owners come first (the
    oldest customers grew): the worst order for the small ones behind them."""
    rng = random.Random(f"fleet:{seed}")  # noqa: S311 - fake data
    large = max(1, owners // 250)
    sizes = list(range(1, 21))
    weights = [1 / k for k in sizes]
    specs = []
    for index in range(owners):
        if index < large:
            terminals = rng.randint(100, 300)
            transactions = rng.randint(10, 40) * PAGE - rng.randrange(PAGE)
        else:
            terminals = rng.choices(sizes, weights=weights)[0]
            transactions = sum(rng.randint(5, 50) for _ in range(terminals))
        specs.append(OwnerSpec(index=index, terminals=terminals, transactions=transactions))
    return specs


def build_account(spec: OwnerSpec, end: datetime, seed: str) -> SandboxAccount:
    """The owner's Vendista account: its terminals and its sales in the 24 h before `end`."""
    rng = random.Random(f"fleet:{seed}:{spec.index}")  # noqa: S311 - fake data
    base = 100_000 + spec.index * 1_000
    terminals = [
        SandboxTerminal(
            id=base + number,
            comment=f"Точка {spec.index}-{number + 1}",
            serial_number=f"VD{spec.index:05d}{number:03d}",
            last_online_time=end.replace(microsecond=0),
            last_hour_online=60,
        )
        for number in range(spec.terminals)
    ]
    first = end - timedelta(hours=24) + timedelta(minutes=1)
    span_ms = int((end - first).total_seconds() * 1000) - 60_000
    stamps = sorted(rng.randrange(span_ms) for _ in range(spec.transactions))
    next_id = FIRST_TRANSACTION_ID + (spec.index + 1) * ID_SPAN
    rows = []
    for stamp in stamps:
        moment = first + timedelta(milliseconds=stamp)
        terminal = terminals[rng.randrange(len(terminals))]
        item = rng.randrange(len(PRICES))
        next_id += 1 + rng.randrange(40)
        rows.append(
            SandboxTransaction(
                id=next_id,
                term_id=terminal.id,
                time=f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}",
                sum=PRICES[item],
                machine_item=[{"machine_item_id": item + 1}],
                terminal_comment=terminal.comment,
                card_number=f"220220******{rng.randrange(10_000):04d}",
            )
        )
    return SandboxAccount(
        login=spec.login, password=f"pw-{spec.index}", terminals=terminals, transactions=rows
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--owners", type=int, default=2000)
    parser.add_argument("--seed", default="fleet")
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args(argv)
    end = moscow_now().replace(tzinfo=None)
    sandbox = VendistaSandbox(port=options.port, log_limit=1_000_000)
    manifest = []
    for spec in fleet_spec(options.owners, options.seed):
        account = sandbox.add_account(build_account(spec, end, options.seed))
        manifest.append(
            {
                "login": account.login,
                "password": account.password,
                "token": sandbox.issue_token(account.login),
                "terminals": [[t.id, t.comment, t.serial_number] for t in account.terminals],
                "transactions": len(account.transactions),
            }
        )
    options.manifest.write_text(json.dumps(manifest))
    sandbox.start()
    print(sandbox.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
