"""Text helpers for Telegram messages: splitting at 4,096 characters, Russian numbers."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

TELEGRAM_LIMIT = 4096
NBSP = "\u00a0"


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji may count two)."""
    return len(text.encode("utf-16-le")) // 2


def split_message(header: str, lines: list[str], limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Join `lines` under `header` in chunks of at most `limit` characters, never mid-line.

    Every chunk starts with the header. A single line longer than the limit is cut (rare: the
    callers' lines are short), so no chunk is ever refused by Telegram for its length.
    """
    chunks: list[str] = []
    current = header
    has_body = False
    room = limit - telegram_length(header) - 1
    for line in lines:
        if telegram_length(line) > room:
            line = _cut(line, room)
        if has_body and telegram_length(current) + telegram_length(line) + 1 > limit:
            chunks.append(current)
            current, has_body = header, False
        current = f"{current}\n{line}"
        has_body = True
    if has_body or not chunks:
        chunks.append(current)
    return chunks


def split_text(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split a rendered message whose first line is its header (repeated in every chunk)."""
    if telegram_length(text) <= limit:
        return [text]
    header, _, body = text.partition("\n")
    return split_message(header, body.split("\n"), limit)


def _cut(line: str, room: int) -> str:
    while telegram_length(line) > room:
        line = line[: max(room - 1, 0)]
    return line


def format_quantity(value: Decimal, *, signed: bool = False) -> str:
    """Russian formatting: non-breaking-space thousands, comma decimals, at most 3 decimals;
    `signed` adds "+" to positive values (negative ones keep their minus)."""
    rounded = value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    negative = rounded < 0
    whole, _, fraction = f"{abs(rounded):.3f}".partition(".")
    fraction = fraction.rstrip("0")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = NBSP.join(groups) + ("," + fraction if fraction else "")
    if negative:
        return "-" + text
    if signed and rounded > 0:
        return "+" + text
    return text


def short_item_name(name: str) -> str:
    """Item names longer than 8 characters become their first 7 plus "." (as the original)."""
    return name if len(name) <= 8 else name[:7] + "."
