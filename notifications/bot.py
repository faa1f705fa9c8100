"""Linking people to Telegram chats: one-time codes and the bot's `/start <code>`.

The chat id comes only from Telegram's update (received by `run_bot` polling or by the webhook
whose secret header proves it came from Telegram), never from a request body of ours.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications import services
from notifications.channels.telegram import TelegramBotApi
from notifications.models import TelegramChat, TelegramLinkCode

logger = logging.getLogger("notifications.bot")

UpdateHandler = Callable[[dict[str, Any]], "str | None"]
_update_handler: UpdateHandler | None = None


def register_update_handler(handler: UpdateHandler) -> None:
    """Let a higher app (the bot's menus) handle every update the webhook or `run_bot`
    receives; called from its `AppConfig.ready()`. Without one, only `/start <code>` works."""
    global _update_handler
    _update_handler = handler


def issue_link_code(user: Any) -> TelegramLinkCode:
    """A fresh one-time code for this person; earlier unused codes stop working."""
    now = timezone.now()
    with transaction.atomic():
        TelegramLinkCode.objects.filter(user=user, used_at__isnull=True).update(expires_at=now)
        return TelegramLinkCode.objects.create(
            user=user,
            code=secrets.token_urlsafe(12),
            expires_at=now + timedelta(minutes=settings.TELEGRAM_LINK_CODE_TTL_MINUTES),
        )


def start_link(code: str) -> str:
    """The t.me deep link that opens the bot with `/start <code>`, when the bot's name is set."""
    username = settings.TELEGRAM_BOT_USERNAME
    return f"https://t.me/{username}?start={code}" if username else ""


def link_chat(
    *, code: str, chat_id: int, is_group: bool = False, username: str = ""
) -> TelegramChat | None:
    """Bind the chat to the code's owner; None when the code is unknown, used or expired."""
    now = timezone.now()
    with transaction.atomic():
        link = (
            TelegramLinkCode.objects.select_for_update()
            .select_related("user")
            .filter(code=code)
            .first()
        )
        if link is None or not link.is_usable(now):
            return None
        chat, _ = TelegramChat.objects.update_or_create(
            chat_id=chat_id,
            defaults={
                "user": link.user,
                "is_group": is_group,
                "username": username[:100],
                "enabled": True,
                "disabled_reason": "",
                "disabled_at": None,
            },
        )
        link.used_at = now
        link.used_chat_id = chat_id
        link.save(update_fields=["used_at", "used_chat_id"])
    logger.info("telegram chat linked: user=%s", link.user_id)
    return chat


def handle_update(update: dict[str, Any]) -> str | None:
    """Act on one Telegram update; returns what was done ("linked", "rejected", "welcome")."""
    if _update_handler is not None:
        return _update_handler(update)
    return link_from_update(update)


def link_from_update(update: dict[str, Any]) -> str | None:
    """The `/start <code>` of a message update: link the chat, or welcome."""
    message = update.get("message") or update.get("edited_message")
    if not isinstance(message, dict):
        return None
    chat = message.get("chat") or {}
    text = str(message.get("text") or "").strip()
    if "id" not in chat or not text.startswith("/start"):
        return None
    chat_id = int(chat["id"])
    parts = text.split(maxsplit=1)
    code = parts[1].strip() if len(parts) > 1 else ""
    if not code:
        _reply(chat_id, "bot_welcome", {})
        return "welcome"
    sender = message.get("from") or {}
    linked = link_chat(
        code=code,
        chat_id=chat_id,
        is_group=chat.get("type") in {"group", "supergroup"},
        username=str(sender.get("username") or chat.get("username") or ""),
    )
    if linked is None:
        _reply(chat_id, "bot_link_failed", {})
        return "rejected"
    _reply(chat_id, "bot_linked", {"username": linked.user.get_username()}, chat=linked)
    return "linked"


def _reply(
    chat_id: int, template: str, context: dict[str, Any], chat: TelegramChat | None = None
) -> None:
    services.queue_message(
        recipient=str(chat_id),
        template=template,
        text=services.render(template, context),
        chat=chat,
    )


def poll_once(api: TelegramBotApi, offset: int | None, *, timeout: int) -> int | None:
    """One long-polling `getUpdates` round; returns the next offset."""
    payload: dict[str, Any] = {
        "timeout": timeout,
        "allowed_updates": ["message", "callback_query"],
    }
    if offset is not None:
        payload["offset"] = offset
    updates = api.request("getUpdates", payload, timeout=timeout + 10) or []
    for update in updates:
        offset = int(update["update_id"]) + 1
        try:
            handle_update(update)
        except Exception:
            logger.exception("telegram update %s failed", update.get("update_id"))
    return offset
