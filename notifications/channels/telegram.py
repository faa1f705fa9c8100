"""Telegram over the Bot API's plain HTTP interface (synchronous `requests`, no asyncio client).

The bot token is part of every URL, so URLs are never logged and errors carry only the method.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from notifications.channels.base import DeliveryError, OutgoingMessage, SendResult

logger = logging.getLogger("notifications.telegram")

# 400 answers that mean the chat can never receive from us: no point retrying.
_PERMANENT_400 = ("chat not found", "user not found", "peer_id_invalid", "bot was kicked")


class TelegramApiError(Exception):
    """A Bot API call other than sendMessage failed (getUpdates, setWebhook...)."""


class TelegramBotApi:
    """The few Bot API methods we call, over one `requests.Session` with explicit timeouts."""

    def __init__(
        self,
        *,
        token: str | None = None,
        api_url: str | None = None,
        timeout: float | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self._token = token if token is not None else settings.TELEGRAM_BOT_TOKEN
        if not self._token:
            raise ImproperlyConfigured("TELEGRAM_BOT_TOKEN: is required for the Telegram channel")
        self._base = (api_url or settings.TELEGRAM_API_URL).rstrip("/")
        self._timeout = timeout if timeout is not None else settings.TELEGRAM_TIMEOUT
        self._session = session or requests.Session()

    def call(self, method: str, payload: dict[str, Any], *, timeout: float | None = None) -> Any:
        """POST one method; returns the `(status, body)` of Telegram's JSON answer.

        Network failures become `DeliveryError(permanent=False)` without the URL (it holds the
        token)."""
        url = f"{self._base}/bot{self._token}/{method}"
        try:
            response = self._session.post(
                url, json=payload, timeout=timeout if timeout is not None else self._timeout
            )
        except requests.Timeout:
            raise DeliveryError(f"{method}: timed out", permanent=False) from None
        except requests.RequestException as exc:
            # The exception text includes the URL (and so the token): keep only its type.
            raise DeliveryError(f"{method}: {type(exc).__name__}", permanent=False) from None
        try:
            body = response.json()
        except ValueError:
            body = {"ok": False, "description": response.text[:200]}
        if not isinstance(body, dict):
            body = {"ok": False, "description": str(body)[:200]}
        return response.status_code, body

    def request(self, method: str, payload: dict[str, Any], *, timeout: float | None = None) -> Any:
        """Call a method and return its `result`, or raise `TelegramApiError`."""
        try:
            status, body = self.call(method, payload, timeout=timeout)
        except DeliveryError as exc:
            raise TelegramApiError(str(exc)) from None
        if status != 200 or not body.get("ok"):
            raise TelegramApiError(f"{method}: HTTP {status} {body.get('description', '')}")
        return body.get("result")


def error_for(status: int, body: dict[str, Any]) -> DeliveryError:
    """Map a failed sendMessage answer to a permanent or transient `DeliveryError`."""
    description = str(body.get("description", ""))[:300]
    text = f"HTTP {status}: {description}"
    if status == 429:
        parameters = body.get("parameters") or {}
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        return DeliveryError(
            text, permanent=False, retry_after=float(retry_after) if retry_after else None
        )
    if status == 403:
        return DeliveryError(text, permanent=True)
    if status == 400 and any(marker in description.lower() for marker in _PERMANENT_400):
        return DeliveryError(text, permanent=True)
    if status >= 500:
        return DeliveryError(text, permanent=False)
    # Other 4xx: our request is malformed (bad HTML, text too long). Retrying cannot help, but
    # the chat itself is fine: permanent for this message only (see services.deliver).
    return DeliveryError(text, permanent=True)


class TelegramChannel:
    """Sends one HTML message to one chat; link previews off."""

    kind: ClassVar[str] = "telegram"
    name: ClassVar[str] = "telegram"

    def __init__(self, api: TelegramBotApi | None = None) -> None:
        self.api = api or TelegramBotApi()

    def send(self, message: OutgoingMessage) -> SendResult:
        payload: dict[str, Any] = {
            "chat_id": message.recipient,
            "text": message.text,
            "link_preview_options": {"is_disabled": True},
            "disable_web_page_preview": True,
        }
        if message.html:
            payload["parse_mode"] = "HTML"
        if message.reply_markup:
            payload["reply_markup"] = message.reply_markup
        status, body = self.api.call("sendMessage", payload)
        if status == 200 and body.get("ok"):
            result = body.get("result") or {}
            return SendResult(provider_id=str(result.get("message_id", "")))
        raise error_for(status, body)


def chat_disabling(error: DeliveryError) -> bool:
    """Whether a permanent error means the chat itself is gone (blocked, kicked, not found)."""
    text = str(error).lower()
    return error.permanent and (
        text.startswith("http 403") or any(marker in text for marker in _PERMANENT_400)
    )
