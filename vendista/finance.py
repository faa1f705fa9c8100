"""Finance figures of an owner for a period of Moscow calendar days: revenue,
sales, acquiring, tax, expenses, net profit; sales per terminal and per drink.

A sale is a transaction with `result = '1'` and `reverse_id = 0`; free drinks (amount 0) count.
Sums are computed by PostgreSQL; money leaves here as `Decimal` rubles rounded to kopecks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import cast

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from core.clock import Period
from inventory.models import Recipe
from vendista.models import Expense, TaxSystem, Terminal, Transaction, VendistaAccount

KOPECK = Decimal("0.01")
# Percent of the tax base; the base is the revenue after acquiring (6 %) or that minus the
# period's expenses, never below zero (15 %).
TAX_RATES: dict[str, Decimal] = {
    TaxSystem.INCOME_6.value: Decimal(6),
    TaxSystem.INCOME_EXPENSE_15.value: Decimal(15),
}
SALE = Q(result="1", reverse_id=0)


def rubles(value: Decimal) -> Decimal:
    """Rounded to kopecks, halves away from zero (as a receipt would)."""
    return value.quantize(KOPECK, rounding=ROUND_HALF_UP)


def sales(owner_id: int, period: Period) -> QuerySet[Transaction]:
    """The owner's sales in the period (uses the (owner, time) index)."""
    return Transaction.objects.filter(
        SALE, owner_id=owner_id, time__gte=period.start, time__lt=period.end
    )


def expenses(owner_id: int, period: Period) -> QuerySet[Expense]:
    return Expense.objects.filter(
        owner_id=owner_id, spent_at__gte=period.start, spent_at__lt=period.end
    )


@dataclass(frozen=True)
class Summary:
    period: Period
    sales_count: int
    revenue: Decimal
    acquiring_percent: Decimal
    acquiring: Decimal
    revenue_after_acquiring: Decimal
    expenses: Decimal
    tax_system: str
    tax_rate_percent: Decimal
    tax_base: Decimal
    tax: Decimal
    net_profit: Decimal


def summary(owner_id: int, period: Period) -> Summary:
    """Revenue, acquiring, expenses, tax and net profit of the period. Each figure is
    rounded to kopecks before the next is derived from it, so the shown figures add up."""
    totals = sales(owner_id, period).aggregate(
        count=Count("id"), kopecks=Coalesce(Sum("amount"), 0)
    )
    spent = expenses(owner_id, period).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    account = (
        VendistaAccount.objects.filter(owner_id=owner_id)
        .values("acquiring_percent", "tax_system")
        .first()
    ) or {"acquiring_percent": Decimal(0), "tax_system": TaxSystem.NONE}
    percent = Decimal(account["acquiring_percent"])
    tax_system = account["tax_system"] or TaxSystem.NONE

    revenue = Decimal(totals["kopecks"]) / 100
    acquiring = rubles(revenue * percent / 100)
    after_acquiring = revenue - acquiring
    if tax_system == TaxSystem.INCOME_EXPENSE_15:
        base = max(Decimal(0), after_acquiring - spent)
    elif tax_system == TaxSystem.INCOME_6:
        base = after_acquiring
    else:
        base = Decimal(0)
    rate = TAX_RATES.get(tax_system, Decimal(0))
    tax = rubles(base * rate / 100)
    return Summary(
        period=period,
        sales_count=totals["count"],
        revenue=rubles(revenue),
        acquiring_percent=percent,
        acquiring=acquiring,
        revenue_after_acquiring=rubles(after_acquiring),
        expenses=rubles(spent),
        tax_system=tax_system,
        tax_rate_percent=rate,
        tax_base=rubles(base),
        tax=tax,
        net_profit=rubles(after_acquiring - spent - tax),
    )


@dataclass(frozen=True)
class TerminalSales:
    terminal_id: int
    vendista_terminal_id: int
    name: str
    sales_count: int
    revenue: Decimal


def terminal_stats(owner_id: int, period: Period) -> list[TerminalSales]:
    """Sales count and revenue of each active terminal in the period (zero when it sold
    nothing), by name. One grouped query over the sales, one over the terminals."""
    grouped = {
        row["terminal_id"]: row
        for row in sales(owner_id, period)
        .filter(terminal_id__isnull=False)
        .values("terminal_id")
        .annotate(count=Count("id"), kopecks=Sum("amount"))
        .order_by()
    }
    result = []
    for terminal in Terminal.objects.filter(owner_id=owner_id, is_active=True).order_by(
        "name", "id"
    ):
        row = grouped.get(terminal.pk, {"count": 0, "kopecks": 0})
        result.append(
            TerminalSales(
                terminal_id=terminal.pk,
                vendista_terminal_id=terminal.vendista_id,
                name=terminal.name,
                sales_count=row["count"],
                revenue=rubles(Decimal(row["kopecks"]) / 100),
            )
        )
    return result


@dataclass(frozen=True)
class DrinkOnTerminal:
    terminal_id: int
    terminal_name: str
    recipe_name: str | None
    sales_count: int


@dataclass
class DrinkSales:
    machine_item_id: int
    display_name: str
    total_count: int
    terminals: list[DrinkOnTerminal] = field(default_factory=list)


def drink_stats(owner_id: int, period: Period) -> list[DrinkSales]:
    """Sales per machine item in the period, with each terminal's share and its recipe name.
    The display name is the recipe name when every terminal names the drink alike, "mixed
    names" when they differ, and "drink #N" when no terminal has a recipe for it. Most sold
    first. One grouped query (recipe names joined in by PostgreSQL)."""
    recipe_name = Recipe.objects.filter(
        terminal_id=OuterRef("terminal_id"), machine_item_id=OuterRef("machine_item_id")
    ).values("name")[:1]
    rows = (
        sales(owner_id, period)
        # The terminal reference is not checked by the database: join only the owner's own.
        .filter(terminal__owner_id=owner_id, machine_item_id__isnull=False)
        .values("machine_item_id", "terminal_id", "terminal__name")
        .annotate(count=Count("id"), recipe_name=Subquery(recipe_name))
        .order_by("machine_item_id", "terminal__name", "terminal_id")
    )
    drinks: dict[int, DrinkSales] = {}
    names: dict[int, set[str]] = defaultdict(set)
    for row in rows:
        item = cast(int, row["machine_item_id"])  # not null: filtered above
        drink = drinks.setdefault(item, DrinkSales(item, "", 0))
        drink.total_count += row["count"]
        drink.terminals.append(
            DrinkOnTerminal(
                terminal_id=row["terminal_id"],
                terminal_name=row["terminal__name"] or "",
                recipe_name=row["recipe_name"],
                sales_count=row["count"],
            )
        )
        if row["recipe_name"]:
            names[item].add(row["recipe_name"])
    for item, drink in drinks.items():
        found = names[item]
        if len(found) == 1:
            drink.display_name = next(iter(found))
        elif found:
            drink.display_name = _("Mixed names")
        else:
            drink.display_name = _("Drink #%(number)d") % {"number": item}
    return sorted(drinks.values(), key=lambda drink: (-drink.total_count, drink.machine_item_id))
