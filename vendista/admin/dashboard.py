"""The cabinet's first page: per terminal its online state, container fill, open task and drinks
missing a recipe; today's and the month's sales; 30 days of sales; the Vendista connections with
their last import. A fixed number of queries whatever the number of terminals."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from core.clock import MOSCOW, start_of_moscow_day
from inventory.admin.display import fill_bar, fill_state, quantity
from inventory.models import Inventory, Location, Recipe
from tasks_app.models import Task, TaskStatus
from tenancy.cabinet import scope
from vendista.models import DeductionState, ImportRun, Terminal, Transaction, VendistaAccount

SALE = Q(result="1", reverse_id=0)
CHART_DAYS = 30


def owner_filter(request: HttpRequest, field: str = "owner_id") -> Q | None:
    """The rows the caller may see: None for platform staff (everything)."""
    if scope.is_platform_staff(request):
        return None
    membership = scope.current_membership(request)
    return Q(**{field: membership.owner_id if membership else -1})


def scoped(queryset: QuerySet[Any], request: HttpRequest, field: str = "owner_id") -> QuerySet[Any]:
    condition = owner_filter(request, field)
    return queryset if condition is None else queryset.filter(condition)


def missing_recipes(terminal_ids: list[int]) -> dict[int, list[int]]:
    """Machine items sold as "needs a recipe" that still have none, per terminal (items given a
    recipe since drop out; their old sales stay as they were)."""
    has_recipe = Recipe.objects.filter(
        terminal_id=OuterRef("terminal_id"), machine_item_id=OuterRef("machine_item_id")
    )
    rows = (
        Transaction.objects.filter(
            terminal_id__in=terminal_ids, deduction_state=DeductionState.NEEDS_RECIPE
        )
        .exclude(machine_item_id__isnull=True)
        .filter(~Exists(has_recipe))
        .values_list("terminal_id", "machine_item_id")
        .distinct()
    )
    found: dict[int, list[int]] = defaultdict(list)
    for terminal_id, item in rows:
        if terminal_id is not None and item is not None:
            found[terminal_id].append(item)
    return {key: sorted(items) for key, items in found.items()}


def terminal_cards(request: HttpRequest) -> list[dict[str, Any]]:
    terminals = list(
        scoped(Terminal.objects.filter(is_active=True), request)
        .select_related("owner")
        .order_by("owner_id", "name", "id")
    )
    ids = [t.pk for t in terminals]
    rows: dict[int, list[Inventory]] = defaultdict(list)
    for row in Inventory.objects.filter(terminal_id__in=ids, location=Location.MACHINE).order_by(
        "item_name"
    ):
        rows[row.terminal_id or 0].append(row)
    open_tasks = {
        task.terminal_id: task
        for task in Task.objects.filter(terminal_id__in=ids, status=TaskStatus.PENDING).order_by(
            "created_at"
        )
    }
    missing = missing_recipes(ids)
    cards = []
    for terminal in terminals:
        containers = rows.get(terminal.pk, [])
        cards.append(
            {
                "terminal": terminal,
                "containers": [
                    {
                        "name": row.item_name,
                        "stock": quantity(row.current_stock, row.item_name),
                        "bar": fill_bar(row),
                        "state": fill_state(row),
                    }
                    for row in containers
                ],
                "critical": sum(1 for row in containers if row.is_critical()),
                "task": open_tasks.get(terminal.pk),
                "missing": missing.get(terminal.pk, []),
            }
        )
    return cards


def money(kopecks: int | None) -> str:
    rubles = Decimal(kopecks or 0) / 100
    return f"{rubles:,.2f}".replace(",", "\u00a0").replace(".", ",") + "\u00a0₽"


def sales_figures(request: HttpRequest, now: Any = None) -> dict[str, Any]:
    today = start_of_moscow_day(now)
    month = today.replace(day=1)
    sales = scoped(Transaction.objects.filter(SALE, time__gte=min(month, today)), request)
    totals = sales.aggregate(
        today_count=Count("id", filter=Q(time__gte=today)),
        today_kopecks=Sum("amount", filter=Q(time__gte=today)),
        month_count=Count("id", filter=Q(time__gte=month)),
        month_kopecks=Sum("amount", filter=Q(time__gte=month)),
    )
    return {
        "today_count": totals["today_count"],
        "today_revenue": money(totals["today_kopecks"]),
        "month_count": totals["month_count"],
        "month_revenue": money(totals["month_kopecks"]),
    }


def drink_choices(terminal_ids: list[int]) -> list[tuple[int, str]]:
    """Machine items with a recipe on the visible terminals, with the first recipe's name."""
    names: dict[int, str] = {}
    for item, name in (
        Recipe.objects.filter(terminal_id__in=terminal_ids)
        .order_by("machine_item_id", "terminal_id")
        .values_list("machine_item_id", "name")
    ):
        names.setdefault(item, name)
    return sorted(names.items())


def sales_chart(
    request: HttpRequest, terminal_id: int | None, item: int | None = None, now: Any = None
) -> dict[str, Any]:
    """Sales per Moscow day of the last 30 days: all, one terminal's, or one drink's."""
    today = start_of_moscow_day(now)
    start = today - timedelta(days=CHART_DAYS - 1)
    sales = scoped(Transaction.objects.filter(SALE, time__gte=start), request)
    if terminal_id:
        sales = sales.filter(terminal_id=terminal_id)
    if item:
        sales = sales.filter(machine_item_id=item)
    by_day = {
        row["day"]: row
        for row in sales.annotate(day=TruncDate("time", tzinfo=MOSCOW))
        .values("day")
        .annotate(count=Count("id"), kopecks=Sum("amount"))
        .order_by()
    }
    days = [(start + timedelta(days=n)).date() for n in range(CHART_DAYS)]
    counts = [by_day[d]["count"] if d in by_day else 0 for d in days]
    top = max(counts) or 1
    return {
        "bars": [
            {
                "day": day.strftime("%d.%m"),
                "count": count,
                "height": round(count / top * 100),
                "revenue": money(by_day[day]["kopecks"] if day in by_day else 0),
            }
            for day, count in zip(days, counts, strict=True)
        ],
        "total": sum(counts),
    }


def connections(request: HttpRequest, now: Any = None) -> list[dict[str, Any]]:
    now = now or timezone.now()
    accounts = list(scoped(VendistaAccount.objects.select_related("owner"), request))
    owners = [a.owner_id for a in accounts]
    last_runs = {
        run.owner_id: run
        for run in ImportRun.objects.filter(owner_id__in=owners, kind="import")
        .order_by("owner_id", "-created_at")
        .distinct("owner_id")
    }
    result = []
    for account in accounts:
        last_ok = account.last_successful_import_at
        lag_minutes = int((now - last_ok).total_seconds() // 60) if last_ok else None
        result.append(
            {
                "account": account,
                "run": last_runs.get(account.owner_id),
                "lag_minutes": lag_minutes,
                "payment_ok": account.payment_status == "active",
            }
        )
    return result


def _int_param(request: HttpRequest, name: str) -> int | None:
    try:
        return int(request.GET.get(name, "") or 0) or None
    except ValueError:
        return None


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    """django-unfold's DASHBOARD_CALLBACK: the figures of the first page."""
    if not request.user.is_authenticated:
        return context
    chart_terminal = _int_param(request, "terminal")
    chart_item = _int_param(request, "item")
    cards = terminal_cards(request)
    finance = scope.may(request, scope.STAFF_ROLES)
    context.update(
        {
            "cards": cards,
            "sales": sales_figures(request) if finance else None,
            "chart": sales_chart(request, chart_terminal, chart_item) if finance else None,
            "chart_terminal": chart_terminal,
            "chart_item": chart_item,
            "drinks": drink_choices([card["terminal"].pk for card in cards]) if finance else [],
            "connections": connections(request) if scope.may(request, scope.OWNER_ONLY) else [],
            "title": _("Dashboard"),
        }
    )
    return context
