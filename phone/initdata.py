"""Telegram Mini App `initData`: the signed query string Telegram hands the page.

secret = HMAC-SHA256(key "WebAppData", message = bot token); the data-check string is every
field but `hash`, sorted, `key=value` joined by newlines; its HMAC-SHA256 under the secret must
equal `hash`. `auth_date` must also be recent, so a leaked string stops working.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl


class InitDataError(Exception):
    """initData that is malformed, forged or too old."""


@dataclass(frozen=True)
class WebAppUser:
    telegram_id: int
    first_name: str
    username: str
    auth_date: int


def sign(fields: dict[str, str], bot_token: str) -> str:
    """The `hash` Telegram would put next to these fields."""
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()


def validate(
    init_data: str, *, bot_token: str, max_age: int, now: float | None = None
) -> WebAppUser:
    """The Telegram user the initData was signed for; raises InitDataError otherwise."""
    if not bot_token:
        raise InitDataError("the bot token is not configured")
    fields = dict(parse_qsl(init_data or "", keep_blank_values=True))
    given = fields.pop("hash", "")
    if not given or not hmac.compare_digest(sign(fields, bot_token), given):
        raise InitDataError("the signature does not match")
    try:
        auth_date = int(fields.get("auth_date", ""))
    except ValueError:
        raise InitDataError("auth_date is missing") from None
    moment = time.time() if now is None else now
    if auth_date > moment + 60 or moment - auth_date > max_age:
        raise InitDataError("initData is too old")
    try:
        user: Any = json.loads(fields.get("user", ""))
        telegram_id = int(user["id"])
    except (ValueError, KeyError, TypeError):
        raise InitDataError("the user is missing") from None
    return WebAppUser(
        telegram_id=telegram_id,
        first_name=str(user.get("first_name", "")),
        username=str(user.get("username", "")),
        auth_date=auth_date,
    )
