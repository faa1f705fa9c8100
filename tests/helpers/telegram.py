"""The Telegram Bot API sandbox over real HTTP as a fixture (`telegram_sandbox`, loaded by the
root conftest), and small factories for people with linked chats and terminals."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from notifications.models import TelegramChat
from sandboxes.telegram import TelegramSandbox
from tenancy.models import Membership, Owner, Role
from vendista.models import Terminal

TOKEN = "123456:TEST-token-never-logged"
ADMIN_CHAT = "-100500"
_ids = itertools.count(1)


@pytest.fixture
def telegram_sandbox(settings) -> Iterator[TelegramSandbox]:
    """A running Bot API sandbox, with the settings pointing the Telegram channel at it."""
    server = TelegramSandbox().start()
    settings.TELEGRAM_PROVIDER = "telegram"
    settings.TELEGRAM_BOT_TOKEN = TOKEN
    settings.TELEGRAM_API_URL = server.url
    settings.TELEGRAM_TIMEOUT = 5.0
    settings.ADMIN_TELEGRAM_CHAT_ID = ADMIN_CHAT
    settings.TELEGRAM_RETRY_BASE_SECONDS = 0.5
    settings.TELEGRAM_RETRY_MAX_SECONDS = 2.0
    yield server
    server.stop()


def unique_chat_id() -> int:
    """Chat ids unique across the session: rate-limit buckets in Redis are keyed on them."""
    return int(time.time() * 1000) % 10**9 * 1000 + next(_ids)


def make_person(owner: Owner, role: str = Role.OWNER, *, chat: bool = True, name: str = "") -> Any:
    n = next(_ids)
    user = get_user_model().objects.create_user(username=f"person{n}-{owner.pk}")
    Membership.objects.create(owner=owner, user=user, role=role, display_name=name)
    if chat:
        TelegramChat.objects.create(user=user, chat_id=unique_chat_id())
    return user


def chat_of(user: Any) -> str:
    return str(TelegramChat.objects.get(user=user).chat_id)


def make_terminal(owner: Owner, name: str) -> Terminal:
    return Terminal.objects.create(owner=owner, vendista_id=next(_ids) + 10_000, name=name)


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll until `predicate()` is truthy; fail with a clear message after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def d(value: str) -> Decimal:
    return Decimal(value)
