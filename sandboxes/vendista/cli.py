"""Run the sandbox with the demo accounts in the foreground: `python -m sandboxes.vendista`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from sandboxes.base import run_in_foreground
from sandboxes.vendista.data import DEMO_LOGIN, DEMO_PASSWORD, UNPAID_LOGIN, UNPAID_PASSWORD
from sandboxes.vendista.server import VendistaSandbox

DEFAULT_PORT = 8099


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.vendista", description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="probability of a 5xx on data calls"
    )
    parser.add_argument(
        "--rate-limit", type=float, default=None, help="data requests per second per token"
    )
    parser.add_argument(
        "--bulk", type=int, default=0, help="extra sales today on the demo account (load tests)"
    )
    return parser


def build_sandbox(options: argparse.Namespace) -> VendistaSandbox:
    sandbox = VendistaSandbox.with_demo_accounts(options.port, options.host, bulk=options.bulk or 0)
    sandbox.set_faults(
        latency_s=options.latency or 0.0,
        error_rate=options.error_rate or 0.0,
        rate_limit_per_s=options.rate_limit,
    )
    return sandbox


def main(argv: Sequence[str] | None = None) -> int:
    sandbox = build_sandbox(parser().parse_args(argv))

    def describe() -> list[str]:
        return [
            f"Vendista sandbox at {sandbox.url}  (VENDISTA_API_URL={sandbox.url})",
            f"  {DEMO_LOGIN} / {DEMO_PASSWORD}    paying account, live sales",
            f"  {UNPAID_LOGIN} / {UNPAID_PASSWORD}    unpaid account (402)",
            f"  faults: {sandbox.faults_snapshot()}",
        ]

    run_in_foreground(sandbox, "Vendista", describe, lambda line: print(line, flush=True))
    return 0
