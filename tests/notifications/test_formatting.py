"""Splitting long messages on line boundaries, Russian number formatting."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from notifications.formatting import (
    TELEGRAM_LIMIT,
    format_quantity,
    short_item_name,
    split_message,
    split_text,
    telegram_length,
)


def test_long_message_splits_on_line_boundaries_with_the_header_repeated() -> None:
    header = "📊 <b>Изменения остатков — Кофе &amp; Компания</b>"
    lines = [f"• Позиция {i:04d}: +{i},5" for i in range(600)]
    chunks = split_message(header, lines)

    assert len(chunks) > 1
    for chunk in chunks:
        assert telegram_length(chunk) <= TELEGRAM_LIMIT
        assert chunk.split("\n")[0] == header
    # Every line arrives whole, exactly once, in order.
    body = [line for chunk in chunks for line in chunk.split("\n")[1:]]
    assert body == lines
    # A chunk closes only when the next line would not fit.
    for chunk, following in itertools.pairwise(chunks):
        next_line = following.split("\n")[1]
        assert telegram_length(chunk) + 1 + telegram_length(next_line) > TELEGRAM_LIMIT


def test_length_counts_utf16_units_like_telegram() -> None:
    header = "h"
    lines = ["☕️" * 100] * 60  # each emoji + variation selector = 2 UTF-16 units
    for chunk in split_message(header, lines):
        assert len(chunk.encode("utf-16-le")) // 2 <= TELEGRAM_LIMIT


def test_short_text_is_one_chunk_and_rendered_text_splits_under_its_first_line() -> None:
    assert split_text("<b>Заголовок</b>\nстрочка") == ["<b>Заголовок</b>\nстрочка"]
    text = "<b>Заголовок</b>\n" + "\n".join("x" * 100 for _ in range(100))
    chunks = split_text(text)
    assert len(chunks) == 3
    assert all(chunk.startswith("<b>Заголовок</b>\nx") for chunk in chunks)


@pytest.mark.parametrize(
    ("value", "signed", "expected"),
    [
        ("1000", True, "+1\u00a0000"),
        ("-2500.5", True, "-2\u00a0500,5"),
        ("1234567.125", True, "+1\u00a0234\u00a0567,125"),
        ("0.1234", True, "+0,123"),
        ("-0.0005", True, "-0,001"),
        ("12.300", False, "12,3"),
        ("0", True, "0"),
        ("999", True, "+999"),
    ],
)
def test_russian_number_formatting(value: str, signed: bool, expected: str) -> None:
    assert format_quantity(Decimal(value), signed=signed) == expected


def test_item_names_longer_than_eight_characters_are_shortened() -> None:
    assert short_item_name("Размешиватели") == "Размеши."
    assert short_item_name("Трубочки") == "Трубочки"
