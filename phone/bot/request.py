"""python-telegram-bot's HTTP layer replaced: what the handlers send goes through the project's
durable, Redis-rate-limited delivery path instead of leaving from the handler.

`sendMessage` becomes a `Delivery` row (sent by the notifications worker with the shared limits);
`getMe` is answered from the token and settings (no call per update); every other method
(`answerCallbackQuery`, `setWebhook`...) is one plain HTTP call through `TelegramBotApi`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from telegram.request import BaseRequest, RequestData

from notifications import services
from notifications.channels.base import DeliveryError
from notifications.channels.telegram import TelegramBotApi
from notifications.models import TelegramChat

# Shown in Delivery.template for what the bot answers from its menus, unless the handler names
# its template in this extra parameter (taken off before anything is sent).
REPLY_TEMPLATE = "bot_reply"
TEMPLATE_PARAMETER = "vk_template"


def bot_identity() -> dict[str, Any]:
    """What `getMe` would say: the id is the token's first part."""
    token = settings.TELEGRAM_BOT_TOKEN
    bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 0
    return {
        "id": bot_id,
        "is_bot": True,
        "first_name": "vendkiosk",
        "username": settings.TELEGRAM_BOT_USERNAME or "vendkiosk_bot",
    }


def _ok(result: Any) -> tuple[int, bytes]:
    return 200, json.dumps({"ok": True, "result": result}).encode()


def queue_reply(parameters: dict[str, Any]) -> dict[str, Any]:
    """Record a `sendMessage` as a delivery; answers with the message Telegram would return."""
    recipient = str(parameters["chat_id"])
    chat = TelegramChat.objects.filter(chat_id=int(recipient)).first()
    markup = parameters.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    template = str(parameters.pop(TEMPLATE_PARAMETER, "") or REPLY_TEMPLATE)
    rows = services.queue_message(
        recipient=recipient,
        template=template,
        text=str(parameters.get("text", "")),
        chat=chat,
        reply_markup=markup or None,
    )
    return {
        "message_id": 0,
        "date": int(time.time()),
        "chat": {"id": int(recipient), "type": "private"},
        "text": str(parameters.get("text", "")),
        "delivery_id": rows[0].pk if rows else None,
    }


def _call(method: str, parameters: dict[str, Any]) -> tuple[int, bytes]:
    try:
        status, body = TelegramBotApi().call(method, parameters)
    except DeliveryError as exc:
        return 502, json.dumps({"ok": False, "description": str(exc)}).encode()
    return status, json.dumps(body).encode()


class DurableRequest(BaseRequest):
    """The request object of the bot's `Bot`: see the module docstring."""

    @property
    def read_timeout(self) -> float | None:
        return float(settings.TELEGRAM_TIMEOUT)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        parameters = dict(request_data.parameters) if request_data is not None else {}
        if api_method == "getMe":
            return _ok(bot_identity())
        if api_method == "sendMessage":
            return _ok(await sync_to_async(queue_reply)(parameters))
        return await sync_to_async(_call, thread_sensitive=False)(api_method, parameters)
