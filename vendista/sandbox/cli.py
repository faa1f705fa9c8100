"""Run the sandbox in the foreground: `python -m vendista.sandbox` or
`manage.py vendista_sandbox` (same options)."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from vendista.sandbox.data import DEMO_LOGIN, DEMO_PASSWORD, UNPAID_LOGIN, UNPAID_PASSWORD
from vendista.sandbox.server import VendistaSandbox

DEFAULT_PORT = 8099


def add_arguments(parser: argparse.ArgumentParser) -> None:
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


def build_sandbox(options: dict[str, Any]) -> VendistaSandbox:
    sandbox = VendistaSandbox.with_demo_accounts(
        options["port"], options["host"], bulk=options["bulk"] or 0
    )
    sandbox.set_faults(
        latency_s=options["latency"] or 0.0,
        error_rate=options["error_rate"] or 0.0,
        rate_limit_per_s=options["rate_limit"],
    )
    return sandbox


def serve_forever(sandbox: VendistaSandbox, write: Callable[[str], None]) -> None:
    """Start, describe, and serve until Ctrl-C or SIGTERM; then stop cleanly."""
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    sandbox.start()
    try:
        write(f"Vendista sandbox at {sandbox.url}  (VENDISTA_API_BASE_URL={sandbox.url})")
        write(f"  {DEMO_LOGIN} / {DEMO_PASSWORD}    paying account, live sales")
        write(f"  {UNPAID_LOGIN} / {UNPAID_PASSWORD}    unpaid account (402)")
        write(f"  faults: {sandbox.faults_snapshot()}")
        write("Ctrl-C or SIGTERM stops it.")
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        signal.signal(signal.SIGTERM, previous)
        write("Vendista sandbox stopped.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vendista.sandbox", description=__doc__)
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    serve_forever(build_sandbox(options), lambda line: print(line, flush=True))
    return 0
