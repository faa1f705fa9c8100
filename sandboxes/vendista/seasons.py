"""Demand patterns of the seasonal history (`generate_account(seasonal=True)`), used by the
restock forecast backtest (bench/forecast_backtest.py). Plain Python, no Django.

What the generated sales follow, day by day, on top of each terminal's own popularity:

- **weekday**: office coffee points — busiest Thursday and Friday, quiet at weekends
  (`WEEKDAY_FACTORS`, Monday first);
- **season**: more hot drinks in winter, fewer in summer — a cosine over the year with its peak
  in mid-January and `SEASON_AMPLITUDE` either side;
- **holidays**: the New Year break (1–8 January) and the May holidays sell far less
  (`HOLIDAYS`);
- **noise**: ±20 % a day (the generator's own);
- **outages**: each terminal is offline for a whole day now and then (`OUTAGE_RATE`), with no
  transactions at all that day — what the forecast must skip rather than read as "no demand".
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import date, timedelta

WEEKDAY_FACTORS = (1.0, 1.0, 1.05, 1.15, 1.2, 0.6, 0.45)
SEASON_AMPLITUDE = 0.25
SEASON_PEAK_DAY = 15  # day of the year with the most demand
HOLIDAYS: dict[tuple[int, int], float] = {
    **{(1, day): 0.35 for day in range(1, 9)},
    (5, 1): 0.6,
    (5, 2): 0.7,
    (5, 9): 0.6,
}
OUTAGE_RATE = 0.02


def demand_factor(day: date) -> float:
    """How busy `day` is against an average day (weekday × season × holiday)."""
    angle = 2 * math.pi * (day.timetuple().tm_yday - SEASON_PEAK_DAY) / 365.25
    season = 1 + SEASON_AMPLITUDE * math.cos(angle)
    return WEEKDAY_FACTORS[day.weekday()] * season * HOLIDAYS.get((day.month, day.day), 1.0)


def outage_days(
    seed: int | str, terminal_ids: Iterable[int], first: date, last: date
) -> dict[int, set[date]]:
    """The days each terminal is offline (no transactions), from its own random stream."""
    result: dict[int, set[date]] = {}
    for terminal_id in terminal_ids:
        rng = random.Random(f"vendista-outages:{seed}:{terminal_id}")  # noqa: S311 - fake data
        days = set()
        day = first
        while day <= last:
            if rng.random() < OUTAGE_RATE:
                days.add(day)
            day += timedelta(days=1)
        result[terminal_id] = days
    return result
