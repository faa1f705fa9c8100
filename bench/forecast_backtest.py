"""Restock forecast backtest: replays a year of the Vendista sandbox's seasonal history for the
demo terminals (weekday, seasonal and holiday patterns and whole-day outages, documented in
`sandboxes/vendista/seasons.py`) day by day, with the product's own forecast
(`planning.services.forecast`) and pick-list rule (`quantity_to_bring`). No database needed.

1. Forecast accuracy: on each day, per machine container, the next 7 days' use forecast from
   the days before only, against what was used. `mape_forecast` is the mean absolute percentage
   error over every (container, day) with use; `mape_naive` the same for "yesterday's use
   repeated" (the last online day's, so outages do not count against it);
   `mape_ratio = mape_forecast / mape_naive` (target ≤ 0.8).
2. Visits: each terminal is visited every `--interval` days and kitted the day before. With the
   pick list the kit brings what fills each container at the visit (stock now minus the forecast
   use until then); with "fill what is missing now" it brings capacity minus the stock when
   kitting. `empty_share_*` is the share of visits before which some container ran empty.

    python bench/forecast_backtest.py [--days 365] [--interval 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

from inventory.reference import default_machine_containers, recipe_presets  # noqa: E402
from planning.services.forecast import expected_use, weekday_use  # noqa: E402
from planning.services.picklists import quantity_to_bring  # noqa: E402
from sandboxes.vendista.data import (  # noqa: E402
    DEMO_LOGIN,
    DEMO_PASSWORD,
    DEMO_PER_DAY,
    DEMO_SEED,
    DEMO_TERMINALS,
    generate_account,
    parse_time,
)

END = date(2026, 11, 30)  # fixed, so every run replays the same year
HORIZON = 7
WARM_UP = 28
MAPE_TARGET = 0.8

Key = tuple[int, str]  # (terminal, ingredient)


def history(days: int) -> tuple[dict[Key, dict[date, float]], dict[int, set[date]], list[date]]:
    """Daily use per (terminal, ingredient) through the recipe presets (machine item k uses the
    k-th preset), and each terminal's online days (any transaction at all)."""
    account = generate_account(
        DEMO_LOGIN,
        DEMO_PASSWORD,
        seed=DEMO_SEED,
        terminals=DEMO_TERMINALS,
        days=days,
        per_day=DEMO_PER_DAY,
        end=END,
        seasonal=True,
    )
    presets = recipe_presets()
    refunded = {tx.reverse_id for tx in account.transactions if tx.reverse_id}
    use: dict[Key, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    online: dict[int, set[date]] = defaultdict(set)
    for tx in account.transactions:
        day = parse_time(tx.time).date()
        online[tx.term_id].add(day)
        item = tx.machine_item_id
        if not tx.is_sale or tx.id in refunded or item is None:
            continue
        for entry in presets[(item - 1) % len(presets)]["items"]:
            use[(tx.term_id, entry["item_name"])][day] += float(entry["quantity"])
    first = END - timedelta(days=days - 1)
    calendar = [first + timedelta(days=n) for n in range(days)]
    return use, online, calendar


def per_weekday(use: dict[date, float], online: set[date], as_of: date) -> list[float]:
    window = as_of - timedelta(days=int(settings.FORECAST_HISTORY_DAYS))
    past = [(d, use.get(d, 0.0)) for d in sorted(online) if window <= d < as_of]
    return weekday_use(past, as_of=as_of)


def accuracy(
    use: dict[Key, dict[date, float]], online: dict[int, set[date]], calendar: list[date]
) -> tuple[float, float]:
    errors_f: list[float] = []
    errors_n: list[float] = []
    for (terminal, _name), daily in use.items():
        days_on = online[terminal]
        for index in range(WARM_UP, len(calendar) - HORIZON):
            day = calendar[index]
            actual = sum(daily.get(day + timedelta(days=n), 0.0) for n in range(HORIZON))
            if actual <= 0:
                continue
            forecast = expected_use(per_weekday(daily, days_on, day), day, day + timedelta(HORIZON))
            last_on = next(
                (d for d in (day - timedelta(days=n) for n in range(1, 15)) if d in days_on), None
            )
            naive = daily.get(last_on, 0.0) * HORIZON if last_on else 0.0
            errors_f.append(abs(forecast - actual) / actual)
            errors_n.append(abs(naive - actual) / actual)
    return sum(errors_f) / len(errors_f), sum(errors_n) / len(errors_n)


def visits(
    use: dict[Key, dict[date, float]],
    online: dict[int, set[date]],
    calendar: list[date],
    interval: int,
    *,
    pick_list: bool,
) -> tuple[int, int]:
    """(visits, visits before which a container ran empty) over every terminal."""
    capacity = {c["item"]: float(c["max_stock"]) for c in default_machine_containers()}
    terminals = sorted({terminal for terminal, _name in use})
    total = empty_visits = 0
    for terminal in terminals:
        keys = [k for k in use if k[0] == terminal and k[1] in capacity]
        stock = {k: capacity[k[1]] for k in keys}
        stock_at_kit: dict[Key, float] = dict(stock)
        ran_empty = False
        for index in range(WARM_UP, len(calendar)):
            day = calendar[index]
            if (index - WARM_UP) % interval == 0 and index > WARM_UP:
                total += 1
                empty_visits += ran_empty
                ran_empty = False
                kit_day = day - timedelta(days=1)  # kitted the day before, from that morning
                for key in keys:
                    full = Decimal(str(capacity[key[1]]))
                    if pick_list:
                        weekly = per_weekday(use[key], online[terminal], kit_day)
                        expected = max(stock_at_kit[key] - expected_use(weekly, kit_day, day), 0)
                        bring = quantity_to_bring(full, Decimal(f"{expected:.3f}"))
                    else:
                        bring = quantity_to_bring(full, Decimal(f"{stock_at_kit[key]:.3f}"))
                    stock[key] = min(capacity[key[1]], stock[key] + float(bring))
            if (index - WARM_UP) % interval == interval - 1 or index == WARM_UP:
                stock_at_kit = dict(stock)  # the morning before the next visit
            for key in keys:
                stock[key] -= use[key].get(day, 0.0)
                if stock[key] <= 0:
                    stock[key] = 0.0
                    ran_empty = True
    return total, empty_visits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--interval", type=int, default=3, help="days between visits")
    options = parser.parse_args()
    started = time.perf_counter()
    use, online, calendar = history(options.days)
    mape_forecast, mape_naive = accuracy(use, online, calendar)
    total, empty_pick = visits(use, online, calendar, options.interval, pick_list=True)
    _total, empty_now = visits(use, online, calendar, options.interval, pick_list=False)
    ratio = mape_forecast / mape_naive
    print(f"terminals={len({t for t, _n in use})}")
    print(f"days={options.days}")
    print(f"containers={len(use)}")
    print(f"mape_forecast={mape_forecast:.3f}")
    print(f"mape_naive={mape_naive:.3f}")
    print(f"mape_ratio={ratio:.3f}")
    print(f"mape_ratio_target={MAPE_TARGET}")
    print(f"visit_interval_days={options.interval}")
    print(f"visits={total}")
    print(f"empty_share_pick_list={empty_pick / total:.3f}")
    print(f"empty_share_fill_missing_now={empty_now / total:.3f}")
    print(f"seconds={time.perf_counter() - started:.1f}")
    return 0 if ratio <= MAPE_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
