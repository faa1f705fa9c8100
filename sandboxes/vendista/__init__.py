"""A local Vendista API sandbox for tests, demos and benchmarks (plain Python, no Django).

It speaks `shared/spec/vendista-api.md`: `GET /token`, `/transactions`, `/terminals`,
`/coffee_shop`, with tokens in the query string, naive Moscow times, kopecks, 64-bit ids.

    with VendistaSandbox(accounts=[generate_account("owner", "pw", seed=1)]) as sandbox:
        sandbox.fail_next("/transactions", page=2, status=503)   # or set_faults(...)
        client = VendistaClient(base_url=sandbox.url)             # whatever talks to it
        ...
        assert sandbox.request_log("/transactions")[0].token == ...

Faults (`SandboxFaults`): latency_s, error_rate/error_seed, fail_next, expire_token_after,
unpaid_logins, rate_limit_per_s/retry_after_s, not_found_for_bad_token,
not_found_for_bad_credentials, token_soft_error. Another process drives a running sandbox
through `/_sandbox/...` JSON endpoints (see `sandboxes.vendista.control`).
Run one: `python -m sandboxes.vendista --port 8099` (`--help` lists the fault options).
"""

from __future__ import annotations

from sandboxes.vendista.data import (
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
from sandboxes.vendista.faults import FailRule, SandboxFaults
from sandboxes.vendista.server import (
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
