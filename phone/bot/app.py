"""One update through python-telegram-bot: an `Application` built for the call (its own event
loop, as PTB wants; no client shared across loops) with the durable request layer."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils import translation
from telegram import Update
from telegram.ext import Application

from phone.bot.handlers import add_handlers
from phone.bot.request import DurableRequest

logger = logging.getLogger("phone.bot")


def build_application() -> Application:
    token = settings.TELEGRAM_BOT_TOKEN or "0:unset"
    application = (
        Application.builder()
        .token(token)
        .base_url(f"{settings.TELEGRAM_API_URL.rstrip('/')}/bot")
        .request(DurableRequest())
        .get_updates_request(DurableRequest())
        .updater(None)
        .build()
    )
    add_handlers(application)
    application.add_error_handler(_log_error)
    return application


async def _log_error(update: object, context: Any) -> None:
    logger.error("bot update failed", exc_info=context.error)


async def _process(data: dict[str, Any]) -> None:
    application = build_application()
    async with application:
        update = Update.de_json(data, application.bot)
        await application.process_update(update)


def process_update(data: dict[str, Any]) -> str | None:
    """Handle one update (from the webhook or `run_bot`); the replies are queued deliveries."""
    with translation.override(settings.LANGUAGE_CODE):
        # async_to_sync runs the loop in a helper thread and brings every sync_to_async call
        # back to this one, so handlers use this thread's database connection and transaction.
        async_to_sync(_process)(data)
    return "handled"
