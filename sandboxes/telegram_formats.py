"""What the Telegram sandbox reads as Telegram does: inline keyboards (checked the way the Bot
API checks them) and multipart/form-data uploads."""

from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any


def multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart/form-data body: text fields as str, files as (filename, bytes)."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        fields[str(name)] = (filename, content) if filename else content.decode()
    return fields


def markup(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def markup_error(value: Any) -> str | None:
    """What Telegram would say about an inline keyboard, or None when it is fine."""
    if value is None:
        return None
    parsed = markup(value)
    if parsed is None:
        return "can't parse reply keyboard markup JSON object"
    rows = parsed.get("inline_keyboard")
    if rows is None:
        return None  # a reply keyboard or its removal: not checked here
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return 'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                return "can't parse inline keyboard button: Text buttons are unallowed"
            kinds = [k for k in ("callback_data", "url", "web_app") if k in button]
            if len(kinds) != 1:
                return "can't parse inline keyboard button: exactly one of the optional fields"
            if (
                "callback_data" in button
                and not 1 <= len(str(button["callback_data"]).encode()) <= 64
            ):
                return "BUTTON_DATA_INVALID"
            if "web_app" in button:
                url = str((button["web_app"] or {}).get("url", ""))
                if not url.startswith("https://"):
                    return (
                        f"inline keyboard button Web App URL '{url}' is invalid: Only HTTPS "
                        "links are allowed"
                    )
    return None
