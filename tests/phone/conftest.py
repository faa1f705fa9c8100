"""Fixtures of the bot and Mini App tests: the Telegram sandbox, people with linked chats."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from notifications.models import Delivery, DeliveryStatus
from notifications.services import deliver
from sandboxes.telegram import SentMessage, TelegramSandbox

WEB_APP_URL = "https://app.vendkiosk.test/app/"


@pytest.fixture
def bot(telegram_sandbox: TelegramSandbox, settings: Any, redis_client: Any) -> TelegramSandbox:
    settings.TELEGRAM_WEB_APP_URL = WEB_APP_URL
    settings.TELEGRAM_BOT_USERNAME = "vendkiosk_test_bot"
    settings.TELEGRAM_CHAT_RATE = 1000.0
    settings.TELEGRAM_BOT_RATE = 1000.0
    return telegram_sandbox


def run_bot_once() -> None:
    """One `run_bot` polling round (getUpdates from the sandbox), then send what was queued
    through the delivery path (claims, Redis limits, sendMessage to the sandbox)."""
    call_command("run_bot", "--once")
    send_queued()


def send_queued() -> None:
    for pk in (
        Delivery.objects.filter(status=DeliveryStatus.QUEUED)
        .order_by("id")
        .values_list("pk", flat=True)
    ):
        assert deliver(pk, max_wait=5).status == "sent"


def last_to(sandbox: TelegramSandbox, chat_id: int) -> SentMessage:
    sent = sandbox.sent_to(chat_id)
    assert sent, f"nothing sent to {chat_id}"
    return sent[-1]


def buttons(message: SentMessage) -> dict[str, dict[str, Any]]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return {button["text"]: button for row in rows for button in row}
