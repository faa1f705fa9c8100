"""Pick lists: what to bring to each terminal on a visit day so every container is full at the
visit, with totals per ingredient against the warehouse."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from core.clock import moscow_today
from inventory.models import Inventory, Location
from planning.models import PickList, PickListLine
from planning.services.forecast import forecast_containers
from planning.services.settings import settings_of
from tasks_app.models import TerminalAssignment
from vendista.models import Terminal

THOUSANDTH = Decimal("0.001")


class PlanningError(Exception):
    """A request the planning rules do not allow; `field` names the input at fault (→ 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _route(owner_id: int, route: Sequence[int] | None) -> list[int]:
    terminals = Terminal.objects.filter(owner_id=owner_id, is_active=True)
    if route:
        known = set(terminals.filter(pk__in=list(route)).values_list("pk", flat=True))
        unknown = [pk for pk in route if pk not in known]
        if unknown:
            raise PlanningError("route", _("Unknown terminals: %(ids)s.") % {"ids": unknown})
        if len(set(route)) != len(route):
            raise PlanningError("route", _("A terminal appears twice in the route."))
        return list(route)
    positions = dict(
        TerminalAssignment.objects.filter(terminal__owner_id=owner_id).values_list(
            "terminal_id", "route_position"
        )
    )
    ordered = sorted(
        terminals.values_list("pk", "name"),
        key=lambda row: (positions.get(row[0]) is None, positions.get(row[0]) or 0, row[1], row[0]),
    )
    return [pk for pk, _name in ordered]


def quantity_to_bring(capacity: Decimal, expected_at_visit: Decimal) -> Decimal:
    """What fills the container at the visit, in whole units, never above its capacity."""
    missing = max(capacity - expected_at_visit, Decimal(0))
    return missing.quantize(Decimal(1), rounding=ROUND_FLOOR)


def create_pick_list(
    owner_id: int,
    day: date,
    *,
    route: Sequence[int] | None = None,
    user_id: int | None = None,
    today: date | None = None,
) -> PickList:
    """Plan the visit of `day` (today or later) to `route` (terminal ids in visiting order;
    default: every active terminal in route order): per terminal and ingredient the quantity
    that makes the container full at the visit, from the stock now minus the forecast use until
    then; totals per ingredient against the warehouse, shortfalls flagged. Each call is one new
    pick list."""
    today = today or moscow_today()
    if day < today:
        raise PlanningError("day", _("The visit day cannot be in the past."))
    interval = settings_of(owner_id).visit_interval_days
    next_visit = day + timedelta(days=interval)
    terminal_ids = _route(owner_id, route)
    forecasts = forecast_containers(owner_id, today=today, terminal_ids=terminal_ids)
    position = {terminal_id: n for n, terminal_id in enumerate(terminal_ids)}
    lines: list[PickListLine] = []
    for forecast in sorted(
        forecasts.values(), key=lambda f: (position[f.terminal_id], f.item_name)
    ):
        if forecast.capacity is None or forecast.capacity <= 0:
            continue  # not configured: nothing to fill up to
        until_visit = Decimal(f"{forecast.use_between(today, day):.3f}")
        expected = max(forecast.stock - until_visit, Decimal(0))
        quantity = quantity_to_bring(forecast.capacity, expected)
        if quantity <= 0:
            continue
        lines.append(
            PickListLine(
                terminal_id=forecast.terminal_id,
                position=position[forecast.terminal_id],
                item_name=forecast.item_name,
                current_stock=forecast.stock,
                expected_at_visit=expected.quantize(THOUSANDTH),
                use_until_next_visit=Decimal(f"{forecast.use_between(day, next_visit):.3f}"),
                capacity=forecast.capacity,
                quantity=quantity,
            )
        )
    needed: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        needed[line.item_name] += line.quantity
    warehouse = dict(
        Inventory.objects.filter(
            owner_id=owner_id, location=Location.WAREHOUSE, item_name__in=list(needed)
        ).values_list("item_name", "current_stock")
    )
    totals = [
        {
            "item_name": name,
            "quantity": f"{qty:f}",
            "warehouse": f"{warehouse.get(name, Decimal(0)):f}",
            "shortfall": f"{max(qty - warehouse.get(name, Decimal(0)), Decimal(0)):f}",
        }
        for name, qty in sorted(needed.items())
    ]
    with transaction.atomic():
        pick_list = PickList.objects.create(
            owner_id=owner_id,
            day=day,
            route=terminal_ids,
            next_visit_day=next_visit,
            totals=totals,
            created_by_id=user_id,
        )
        for line in lines:
            line.pick_list = pick_list
        PickListLine.objects.bulk_create(lines)
    return pick_list


def bring_for_terminal(pick_list_id: int, terminal_id: int) -> dict[str, Decimal]:
    """What the pick list brings to one terminal, by ingredient. Reads only."""
    return dict(
        PickListLine.objects.filter(pick_list_id=pick_list_id, terminal_id=terminal_id)
        .order_by("item_name")
        .values_list("item_name", "quantity")
    )


def prefill_after_restock(pick_list_id: int, terminal_id: int) -> dict[str, Decimal]:
    """The machine stock a restock by this pick list should leave: stock now plus what the list
    brings, capped by capacity (the completion form's starting values). Reads only."""
    bring = bring_for_terminal(pick_list_id, terminal_id)
    rows = Inventory.objects.filter(
        terminal_id=terminal_id, location=Location.MACHINE, item_name__in=list(bring)
    ).values_list("item_name", "current_stock", "max_stock")
    result: dict[str, Decimal] = {}
    for name, stock, capacity in rows:
        after = stock + bring[name]
        result[name] = min(after, capacity) if capacity else after
    return result
