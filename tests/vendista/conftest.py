"""Fixtures of the Vendista tests: a sandbox over real HTTP and fast, generous client limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from sandboxes.vendista import SandboxAccount, VendistaSandbox, generate_account

LAST_DAY = date(2026, 11, 20)


@pytest.fixture
def vendista_settings(settings: Any, redis_client: Any) -> Any:
    """Limits high enough that tests are not paced, small pages so windows span many pages."""
    settings.VENDISTA_RATE_PER_TOKEN = 1000.0
    settings.VENDISTA_RATE_GLOBAL = 1000.0
    settings.VENDISTA_BACKOFF_BASE = 0.01
    settings.VENDISTA_MAX_ATTEMPTS = 3
    settings.VENDISTA_PAGE_SIZE = 100
    settings.VENDISTA_LOCK_TTL = 10
    return settings


@pytest.fixture
def shop() -> SandboxAccount:
    """Three days of a small coffee business: 3 terminals, machine items 1..6."""
    return generate_account(
        "shop-login",
        "shop-password",
        seed="shop",
        terminals=3,
        days=3,
        per_day=120,
        machine_items=6,
        end=LAST_DAY,
    )


@pytest.fixture
def sandbox(shop: SandboxAccount, vendista_settings: Any) -> Iterator[VendistaSandbox]:
    with VendistaSandbox(accounts=[shop]) as server:
        vendista_settings.VENDISTA_API_URL = server.url
        yield server
