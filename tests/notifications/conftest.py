"""Fixtures for the notifications tests: `sandbox` is the Telegram Bot API sandbox here."""

from __future__ import annotations

import pytest

from sandboxes.telegram import TelegramSandbox
from tests.helpers.telegram import (
    ADMIN_CHAT,
    TOKEN,
    chat_of,
    d,
    make_person,
    make_terminal,
    unique_chat_id,
    wait_for,
)

__all__ = [
    "ADMIN_CHAT",
    "TOKEN",
    "chat_of",
    "d",
    "make_person",
    "make_terminal",
    "unique_chat_id",
    "wait_for",
]


@pytest.fixture
def sandbox(telegram_sandbox: TelegramSandbox) -> TelegramSandbox:
    return telegram_sandbox
