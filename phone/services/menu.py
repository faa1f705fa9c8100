"""The read-only answers of the bot's menu: finances of a period, stock below critical, open
tasks, my tasks, the next pick list. Figures come from the same services as the API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import F
from django.template.loader import render_to_string

from core.clock import Period, moscow_today
from inventory.models import Inventory
from notifications.formatting import short_item_name
from notifications.services import person_name
from planning.models import PickList
from planning.services import create_pick_list
from tasks_app.models import Task, TaskStatus
from tasks_app.services import attach_pick_list
from vendista import finance

NBSP = "\u00a0"
PERIODS = ("today", "yesterday", "week", "month", "7d", "30d", "year")


def period_for(name: str, today: date | None = None) -> Period:
    """A named period of Moscow days, as the menu offers them (the week starts on Monday)."""
    today = today or moscow_today()
    if name == "today":
        return Period(today, today)
    if name == "yesterday":
        return Period(today - timedelta(days=1), today - timedelta(days=1))
    if name == "week":
        return Period(today - timedelta(days=today.weekday()), today)
    if name == "month":
        return Period(today.replace(day=1), today)
    if name == "7d":
        return Period(today - timedelta(days=6), today)
    if name == "30d":
        return Period(today - timedelta(days=29), today)
    if name == "year":
        return Period(today.replace(month=1, day=1), today)
    raise ValueError(name)


def money(value: Decimal) -> str:
    """Rubles the Russian way: 1 234,50 ₽ (non-breaking spaces)."""
    whole, _, cents = f"{value:,.2f}".partition(".")
    return whole.replace(",", NBSP) + "," + cents + NBSP + "₽"


def render(template: str, context: Mapping[str, object]) -> str:
    text = render_to_string(f"telegram/{template}.html", dict(context))
    return "\n".join(line.rstrip() for line in text.strip().split("\n"))


def finance_text(owner_id: int, period_name: str) -> str:
    period = period_for(period_name)
    result = finance.summary(owner_id, period)
    return render(
        "bot_finance",
        {
            "period_name": period_name,
            "first": period.first.strftime("%d.%m.%Y"),
            "last": period.last.strftime("%d.%m.%Y"),
            "single_day": period.first == period.last,
            "sales_count": result.sales_count,
            "revenue": money(result.revenue),
            "acquiring": money(result.acquiring),
            "expenses": money(result.expenses),
            "tax": money(result.tax),
            "net_profit": money(result.net_profit),
        },
    )


@dataclass(frozen=True)
class LowItem:
    place: str
    name: str
    current: str
    critical: str


def _quantity(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{value.normalize():f}".replace(".", ",")


def stock_text(owner_id: int) -> str:
    """Machine, stand and warehouse rows at or below their critical level now."""
    rows = (
        Inventory.objects.filter(owner_id=owner_id, critical_stock__isnull=False)
        .select_related("terminal")
        .order_by("terminal__name", "location", "item_name")
    )
    low = [
        LowItem(
            place=f"{row.terminal} · {row.get_location_display()}"
            if row.terminal_id
            else str(row.get_location_display()),
            name=row.item_name,
            current=_quantity(row.current_stock),
            critical=_quantity(row.critical_stock),
        )
        for row in rows
        if row.is_critical()
    ]
    return render("bot_stock", {"items": low})


def pick_list_text(owner_id: int, *, user_id: int | None) -> str:
    """The newest pick list for today or later (planned now for today when there is none):
    totals with shortfalls, then what to bring per terminal."""
    today = moscow_today()
    found = (
        PickList.objects.filter(owner_id=owner_id, day__gte=today).order_by("day", "-id").first()
    )
    if found is None:
        found = create_pick_list(owner_id, today, user_id=user_id)
        attach_pick_list(found.pk)
    stops: dict[str, list[dict[str, str]]] = {}
    for line in found.lines.select_related("terminal").order_by("position", "item_name"):
        stops.setdefault(str(line.terminal), []).append(
            {"name": short_item_name(line.item_name), "quantity": _quantity(line.quantity)}
        )
    totals = [
        {
            "name": short_item_name(row["item_name"]),
            "quantity": _quantity(Decimal(row["quantity"])),
            "shortfall": _quantity(Decimal(row["shortfall"]))
            if Decimal(row["shortfall"]) > 0
            else "",
        }
        for row in found.totals
    ]
    return render(
        "bot_picklist",
        {
            "pick_list": found,
            "day": found.day.strftime("%d.%m.%Y"),
            "stops": stops,
            "totals": totals,
        },
    )


def _task_lines(tasks: list[Task], owner_id: int, *, with_assignee: bool) -> list[dict[str, str]]:
    lines = []
    for task in tasks:
        details = task.details or {}
        items = [short_item_name(str(i)) for i in details.get("critical_items", [])]
        lines.append(
            {
                "terminal": str(task.terminal),
                "type": task.get_task_type_display(),
                "items": ", ".join(items),
                "assignee": person_name(task.assignee_id, owner_id) if with_assignee else "",
                "comment": task.comment,
            }
        )
    return lines


def open_tasks_text(owner_id: int) -> str:
    tasks = list(
        Task.objects.filter(owner_id=owner_id, status=TaskStatus.PENDING)
        .select_related("terminal")
        .order_by("created_at", "id")[:50]
    )
    return render(
        "bot_tasks",
        {"tasks": _task_lines(tasks, owner_id, with_assignee=True), "mine": False},
    )


def my_tasks_text(owner_id: int, user_id: int) -> str:
    tasks = list(
        Task.objects.filter(owner_id=owner_id, status=TaskStatus.PENDING, assignee_id=user_id)
        .select_related("terminal")
        # The round's order, as the Mini App lists them.
        .order_by(
            F("terminal__assignment__route_position").asc(nulls_last=True),
            "terminal__name",
            "created_at",
            "id",
        )[:50]
    )
    return render(
        "bot_tasks",
        {"tasks": _task_lines(tasks, owner_id, with_assignee=False), "mine": True},
    )
