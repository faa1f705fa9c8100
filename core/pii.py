"""Masking of personal data (e-mail addresses, phone numbers) in logs, audit rows and admin text.

`mask_email("ivan.petrov@mail.ru")` → `"i***@mail.ru"`; `mask_phone("+7 916 123-45-67")` →
`"+7******4567"` (the country prefix and the last four digits stay, so staff can still tell
two clients apart). `mask_text` finds both anywhere in free text.
"""

from __future__ import annotations

import re
from typing import Any

EMAIL_RE = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([\w-]+(?:\.[\w-]+)+)")
# A phone: "+" and 10-15 digits, or a Russian 11-digit number starting with 7 or 8, possibly
# separated by spaces, dashes, dots or brackets. Bare 10-digit numbers (Vendista ids) stay.
PHONE_RE = re.compile(r"(?<![\w+])(\+\d[\d\s().-]{8,20}\d|[78][\s(.-]*\d(?:[\s().-]*\d){9})(?!\w)")


def mask_email(value: str) -> str:
    """Keep the first character of the local part and the domain."""
    return EMAIL_RE.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", value)


def _mask_phone_match(match: re.Match[str]) -> str:
    raw = match.group(1)
    digits = re.sub(r"\D", "", raw)
    if not 10 <= len(digits) <= 15 or (not raw.startswith("+") and len(digits) != 11):
        return raw
    prefix = "+" if raw.startswith("+") else ""
    head = digits[:1] if len(digits) <= 11 else digits[:2]
    return f"{prefix}{head}{'*' * (len(digits) - len(head) - 4)}{digits[-4:]}"


def mask_phone(value: str) -> str:
    return PHONE_RE.sub(_mask_phone_match, value)


def mask_text(value: str) -> str:
    """Mask every e-mail address and phone number in free text."""
    return mask_phone(mask_email(value))


def mask_data(value: Any) -> Any:
    """Mask strings inside nested dicts/lists (for audit summaries and structured log extras)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_data(item) for item in value]
    return value
