"""A local Vendista API sandbox for tests, demos and benchmarks (plain Python, no Django).

with VendistaSandbox.with_demo_accounts() as sandbox:
    requests.get(f"{sandbox.url}/token", params={"login": DEMO_LOGIN, ...})
"""

from __future__ import annotations

from vendista.sandbox.data import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    DEMO_SEED,
    FIRST_TRANSACTION_ID,
    MOSCOW,
    UNPAID_LOGIN,
    UNPAID_PASSWORD,
    SandboxAccount,
    SandboxTerminal,
    SandboxTransaction,
    demo_accounts,
    generate_account,
    generate_bulk_transactions,
)
from vendista.sandbox.faults import FailRule, SandboxFaults
from vendista.sandbox.server import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    RecordedRequest,
    VendistaSandbox,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "DEMO_LOGIN",
    "DEMO_PASSWORD",
    "DEMO_SEED",
    "FIRST_TRANSACTION_ID",
    "MAX_PAGE_SIZE",
    "MOSCOW",
    "UNPAID_LOGIN",
    "UNPAID_PASSWORD",
    "FailRule",
    "RecordedRequest",
    "SandboxAccount",
    "SandboxFaults",
    "SandboxTerminal",
    "SandboxTransaction",
    "VendistaSandbox",
    "demo_accounts",
    "generate_account",
    "generate_bulk_transactions",
]
