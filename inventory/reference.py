"""Reference data for coffee points (units, default machine containers, global recipe presets),
kept in `inventory/data/coffee_reference.json`."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, TypedDict

DATA_FILE = Path(__file__).resolve().parent / "data" / "coffee_reference.json"


class Container(TypedDict):
    item: str
    max_stock: Decimal
    critical_stock: Decimal


@cache
def _data() -> dict[str, Any]:
    with DATA_FILE.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def units() -> dict[str, str]:
    """Base unit per ingredient: "g", "ml" or "pcs"."""
    return dict(_data()["units"])


def default_machine_containers() -> list[Container]:
    """The 13 machine containers a new terminal starts with (stock 0)."""
    return [
        Container(
            item=row["item"],
            max_stock=Decimal(str(row["max_stock"])),
            critical_stock=Decimal(str(row["critical_stock"])),
        )
        for row in _data()["default_machine_containers"]
    ]


def recipe_presets() -> list[dict[str, Any]]:
    """The 21 global drinks as {"name", "items": [{"item_name", "quantity"}]}."""
    return [
        {
            "name": preset["name"],
            "items": [{"item_name": k, "quantity": v} for k, v in preset["items"].items()],
        }
        for preset in _data()["recipe_presets"]
    ]
