"""Helpers for the staff API tests: raw transactions, terminals and expenses written straight to
the database (no import pipeline), and Moscow times."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tenancy.models import Owner
from vendista.models import Expense, Terminal, Transaction

MSK = ZoneInfo("Europe/Moscow")
_ids = itertools.count(9_100_000_001)
_vendista_terminal_ids = itertools.count(500_001)


def msk(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A Moscow wall-clock time: msk(2026, 11, 1, 0, 0)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=MSK)


def terminal(owner: Owner, name: str, *, active: bool = True) -> Terminal:
    return Terminal.objects.create(
        owner=owner, vendista_id=next(_vendista_terminal_ids), name=name, is_active=active
    )


def tx(
    owner: Owner,
    at: datetime,
    amount: int,
    *,
    terminal: Terminal | None = None,
    item: int | None = 1,
    result: str = "1",
    reverse_id: int = 0,
    **extra: Any,
) -> Transaction:
    """One stored transaction; `amount` in kopecks."""
    return Transaction.objects.create(
        id=next(_ids),
        owner=owner,
        terminal=terminal,
        vendista_terminal_id=terminal.vendista_id if terminal else 999_999,
        machine_item_id=item,
        amount=amount,
        time=at,
        result=result,
        reverse_id=reverse_id,
        **extra,
    )


def expense(owner: Owner, at: datetime, rubles: str, comment: str = "") -> Expense:
    return Expense.objects.create(owner=owner, spent_at=at, amount=Decimal(rubles), comment=comment)
