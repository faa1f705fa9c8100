"""Consumption forecasts per machine container.

The model is small and explainable: a container's expected use on a day is a recency-weighted
level times a weekday factor. Both come from the daily use over the last
`FORECAST_HISTORY_DAYS` days, counting only the days the terminal was online (a day without a
single transaction is taken as a day it was offline and skipped, so gaps and outages neither
pull the level down nor break the weekday pattern). Use is in the container's own units: the
import records what each sale deducted per stock row, and history imported without deduction
goes through the recipes.

`weekday_use` and `project` are plain Python (the backtest in bench/ replays them); the rest
reads the database with one statement per owner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.clock import as_moscow, moscow_midnight, moscow_today
from inventory.models import Inventory, Location
from planning.models import Forecast

# Recent days weigh more: a day this many days old counts half as much as yesterday.
LEVEL_HALF_LIFE_DAYS = 14.0
# The weekday pattern changes slowly: it is read over a longer memory.
WEEKDAY_HALF_LIFE_DAYS = 56.0
# A weekday seen on few days leans toward "like any other day" (pseudo-days of factor 1).
WEEKDAY_PRIOR_DAYS = 2.0
# A day far above the usual (a party, a data error) counts at most this many times the median.
SPIKE_CAP = 3.0
# How far ahead the critical and empty dates are looked for.
PROJECTION_DAYS = 120


def weekday_use(history: Sequence[tuple[date, float]], *, as_of: date) -> list[float]:
    """Expected use on each weekday (Monday first) from `history`: (day, use) for the days the
    terminal was online before `as_of`, in any order. Empty history: nothing expected."""
    days = [(day, use) for day, use in history if day < as_of]
    if not days:
        return [0.0] * 7
    ordered = sorted(use for _day, use in days)
    median = ordered[len(ordered) // 2]
    cap = SPIKE_CAP * median if median > 0 else None
    capped = [(day, min(use, cap) if cap is not None else use) for day, use in days]

    def weight(day: date, half_life: float) -> float:
        return float(0.5 ** (((as_of - day).days - 1) / half_life))

    # Weekday factors: weighted mean use per weekday against the weighted mean of all days.
    total_w = sum(weight(day, WEEKDAY_HALF_LIFE_DAYS) for day, _use in capped)
    mean = sum(weight(day, WEEKDAY_HALF_LIFE_DAYS) * use for day, use in capped) / total_w
    factors = [1.0] * 7
    if mean > 0:
        sums = [0.0] * 7
        weights = [0.0] * 7
        counts = [0] * 7
        for day, use in capped:
            w = weight(day, WEEKDAY_HALF_LIFE_DAYS)
            sums[day.weekday()] += w * use
            weights[day.weekday()] += w
            counts[day.weekday()] += 1
        for wd in range(7):
            if counts[wd]:
                raw = sums[wd] / weights[wd] / mean
                factors[wd] = (counts[wd] * raw + WEEKDAY_PRIOR_DAYS) / (
                    counts[wd] + WEEKDAY_PRIOR_DAYS
                )
        # Normalise so that the factors average 1 over a week.
        scale = sum(factors) / 7
        factors = [f / scale for f in factors] if scale > 0 else [1.0] * 7
    # The level: recency-weighted mean of the deseasonalised use.
    level_w = 0.0
    level = 0.0
    for day, use in capped:
        w = weight(day, LEVEL_HALF_LIFE_DAYS)
        factor = factors[day.weekday()]
        level += w * (use / factor if factor > 0 else use)
        level_w += w
    level /= level_w
    return [level * factor for factor in factors]


def expected_use(per_weekday: Sequence[float], first: date, end: date) -> float:
    """Expected use on the days `first` .. `end` (end excluded)."""
    return sum(
        per_weekday[(first + timedelta(days=n)).weekday()] for n in range((end - first).days)
    )


def project(
    stock: float, critical: float | None, per_weekday: Sequence[float], *, start: date
) -> tuple[date | None, date | None]:
    """The days a container holding `stock` at the start of `start` is expected to reach its
    critical level and to run empty (None: not within PROJECTION_DAYS)."""
    critical_on = start if critical is not None and stock <= critical else None
    if stock <= 0:
        return critical_on or start, start
    if not any(use > 0 for use in per_weekday):
        return critical_on, None
    left = stock
    for n in range(PROJECTION_DAYS):
        day = start + timedelta(days=n)
        left -= per_weekday[day.weekday()]
        if critical_on is None and critical is not None and left <= critical:
            critical_on = day
        if left <= 0:
            return critical_on, day
    return critical_on, None


@dataclass(frozen=True)
class ContainerForecast:
    inventory_id: int
    terminal_id: int
    item_name: str
    stock: Decimal
    capacity: Decimal | None
    critical: Decimal | None
    per_weekday: list[float]
    days_of_history: int
    critical_on: date | None
    empty_on: date | None

    @property
    def daily_use(self) -> float:
        return sum(self.per_weekday) / 7

    def use_between(self, first: date, end: date) -> float:
        return expected_use(self.per_weekday, first, end)


# One statement per owner: the use per machine row and Moscow day (what deducted sales
# recorded; history stored without deduction through today's recipes), and the days each
# terminal had any transaction at all (inventory_id NULL): its online days.
_HISTORY_SQL = """
WITH tx AS (
    SELECT t.terminal_id, t.machine_item_id, t.deduction_state, t.deducted_items,
           t.restored_at, t.result, t.reverse_id,
           (t.time AT TIME ZONE 'Europe/Moscow')::date AS day
    FROM vendista_transaction t
    WHERE t.owner_id = %(owner)s AND t.time >= %(since)s AND t.time < %(until)s
      AND t.terminal_id IS NOT NULL
), recorded AS (
    SELECT tx.terminal_id, (item ->> 'inventory_id')::bigint AS inventory_id, tx.day,
           (item ->> 'quantity')::numeric AS qty
    FROM tx, jsonb_array_elements(tx.deducted_items) AS item
    WHERE tx.deduction_state = 'deducted' AND tx.restored_at IS NULL
      AND jsonb_typeof(tx.deducted_items) = 'array'
), by_recipe AS (
    SELECT tx.terminal_id, inv.id AS inventory_id, tx.day, ri.quantity AS qty
    FROM tx
    JOIN inventory_recipe r
      ON r.terminal_id = tx.terminal_id AND r.machine_item_id = tx.machine_item_id
    JOIN inventory_recipeitem ri ON ri.recipe_id = r.id
    JOIN inventory_inventory inv
      ON inv.owner_id = %(owner)s AND inv.terminal_id = tx.terminal_id
     AND inv.location = 'machine' AND inv.item_name = ri.item_name
    WHERE (tx.deduction_state = 'historical'
           OR (tx.deduction_state = 'deducted' AND tx.deducted_items IS NULL))
      AND tx.restored_at IS NULL AND tx.result = '1' AND tx.reverse_id = 0
)
SELECT terminal_id, inventory_id, day, sum(qty)
FROM (SELECT * FROM recorded UNION ALL SELECT * FROM by_recipe) used
GROUP BY terminal_id, inventory_id, day
UNION ALL
SELECT DISTINCT terminal_id, NULL::bigint, day, 0 FROM tx
"""


def load_history(
    owner_id: int, *, first: date, end: date
) -> tuple[dict[int, dict[date, float]], dict[int, set[date]]]:
    """Use per machine row and day, and each terminal's online days, for the Moscow days
    `first` .. `end` (end excluded). One statement."""
    use: dict[int, dict[date, float]] = defaultdict(dict)
    online: dict[int, set[date]] = defaultdict(set)
    with connection.cursor() as cursor:
        cursor.execute(
            _HISTORY_SQL,
            {"owner": owner_id, "since": moscow_midnight(first), "until": moscow_midnight(end)},
        )
        for terminal_id, inventory_id, day, qty in cursor.fetchall():
            if inventory_id is None:
                online[int(terminal_id)].add(day)
            else:
                use[int(inventory_id)][day] = float(qty)
    return dict(use), dict(online)


def container_history(
    use: Mapping[date, float], online: Iterable[date]
) -> list[tuple[date, float]]:
    """A container's (day, use) for every online day of its terminal (0 when nothing was used)."""
    return [(day, use.get(day, 0.0)) for day in sorted(online)]


def forecast_containers(
    owner_id: int,
    *,
    today: date | None = None,
    terminal_ids: Iterable[int] | None = None,
) -> dict[int, ContainerForecast]:
    """The forecast of each machine container of the owner (or of `terminal_ids`), from the
    history before `today` (default: today in Moscow). Reads only; two queries."""
    today = today or moscow_today()
    history_days = int(settings.FORECAST_HISTORY_DAYS)
    use, online = load_history(owner_id, first=today - timedelta(days=history_days), end=today)
    rows = Inventory.objects.filter(
        owner_id=owner_id, location=Location.MACHINE, terminal__is_active=True
    )
    if terminal_ids is not None:
        rows = rows.filter(terminal_id__in=list(terminal_ids))
    result: dict[int, ContainerForecast] = {}
    for row in rows.order_by("terminal_id", "item_name"):
        assert row.terminal_id is not None
        history = container_history(use.get(row.pk, {}), online.get(row.terminal_id, ()))
        per_weekday = weekday_use(history, as_of=today)
        critical_on, empty_on = project(
            float(row.current_stock),
            None if row.critical_stock is None else float(row.critical_stock),
            per_weekday,
            start=today,
        )
        result[row.pk] = ContainerForecast(
            inventory_id=row.pk,
            terminal_id=row.terminal_id,
            item_name=row.item_name,
            stock=row.current_stock,
            capacity=row.max_stock,
            critical=row.critical_stock,
            per_weekday=per_weekday,
            days_of_history=len(history),
            critical_on=critical_on,
            empty_on=empty_on,
        )
    return result


def refresh_forecasts(owner_id: int, *, now: datetime | None = None) -> int:
    """Recompute and store the forecast of every machine container of the owner (one history
    query; rows replaced in one transaction). Safe to re-run. Returns the containers written."""
    now = now or timezone.now()
    forecasts = forecast_containers(owner_id, today=as_moscow(now).date())
    rows = [
        Forecast(
            owner_id=owner_id,
            inventory_id=f.inventory_id,
            terminal_id=f.terminal_id,
            item_name=f.item_name,
            weekday_use=[round(value, 3) for value in f.per_weekday],
            daily_use=Decimal(f"{f.daily_use:.3f}"),
            days_of_history=f.days_of_history,
            critical_on=f.critical_on,
            empty_on=f.empty_on,
            computed_at=now,
        )
        for f in forecasts.values()
    ]
    with transaction.atomic():
        Forecast.objects.filter(owner_id=owner_id).exclude(
            inventory_id__in=list(forecasts)
        ).delete()
        Forecast.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["inventory"],
            update_fields=[
                "weekday_use",
                "daily_use",
                "days_of_history",
                "critical_on",
                "empty_on",
                "computed_at",
                "terminal",
                "item_name",
            ],
        )
    return len(rows)
