"""The staff API tests talk to a local Vendista sandbox, never to the real Vendista: storing
credentials checks them against `/token` (a random login gets a 400, not a network error)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandboxes.vendista import VendistaSandbox


@pytest.fixture(autouse=True)
def vendista_sandbox(settings: Any) -> Iterator[VendistaSandbox]:
    with VendistaSandbox.with_demo_accounts() as server:
        settings.VENDISTA_API_URL = server.url
        # Generated requests call /token often; the shared limits would pace them to 1/s.
        settings.VENDISTA_RATE_PER_TOKEN = 1000.0
        settings.VENDISTA_RATE_GLOBAL = 1000.0
        yield server
