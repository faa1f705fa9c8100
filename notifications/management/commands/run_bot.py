"""`manage.py run_bot`: receive the bot's updates by long polling and handle `/start <code>`."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notifications.bot import poll_once
from notifications.channels.telegram import TelegramApiError, TelegramBotApi

logger = logging.getLogger("notifications.bot")


class Command(BaseCommand):
    help = "Poll Telegram for updates (getUpdates) and link chats sent /start <code>."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=int, default=25, help="long-poll seconds")
        parser.add_argument("--once", action="store_true", help="one polling round, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        api = TelegramBotApi()
        # Polling and a webhook exclude each other at Telegram: drop any webhook first.
        api.request("deleteWebhook", {"drop_pending_updates": False})
        offset: int | None = None
        while True:
            try:
                offset = poll_once(
                    api, offset, timeout=0 if options["once"] else options["timeout"]
                )
            except TelegramApiError as exc:
                logger.warning("getUpdates failed: %s; retrying in 5 s", exc)
                if options["once"]:
                    raise
                time.sleep(5)
            if options["once"]:
                return
