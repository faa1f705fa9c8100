"""The sandbox's seasonal history follows the patterns `sandboxes/vendista/seasons.py` documents."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sandboxes.vendista import seasons
from sandboxes.vendista.data import generate_account, parse_time

END = date(2026, 11, 30)


def test_seasonal_history_follows_weekdays_seasons_and_outages():
    account = generate_account(
        "s", "p", seed="season", terminals=3, days=365, per_day=80, end=END, seasonal=True
    )
    sales = [parse_time(tx.time).date() for tx in account.transactions if tx.is_sale]
    by_weekday = Counter(day.weekday() for day in sales)
    assert by_weekday[4] > 1.5 * by_weekday[6]  # Friday against Sunday (1.2 against 0.45)
    by_month = Counter(day.month for day in sales)
    assert by_month[12] > 1.3 * by_month[7]  # winter against summer
    first = END - timedelta(days=364)
    outages = seasons.outage_days("season", [t.id for t in account.terminals], first, END)
    assert sum(len(days) for days in outages.values()) > 5
    for terminal_id, days in outages.items():
        seen = {
            parse_time(tx.time).date() for tx in account.transactions if tx.term_id == terminal_id
        }
        assert not seen & days  # no transaction at all on a day the terminal was offline
