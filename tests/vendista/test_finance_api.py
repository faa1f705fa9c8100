"""Finance summary, sales per terminal and per drink: figures checked against sums computed
here, in plain Python, from the raw rows the test wrote (domain.md §13)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import time_machine

from inventory.models import Recipe
from tenancy.models import Owner, Role
from tests.helpers.tenancy import Tenant, make_tenant
from tests.vendista.staff import MSK, expense, msk, terminal, tx
from vendista.models import Terminal, VendistaAccount

pytestmark = pytest.mark.django_db

SUMMARY = "/api/finance/summary/"
TERMINALS = "/api/finance/terminals/"
DRINKS = "/api/finance/drinks/"
NOVEMBER = {"date_from": "2026-11-01", "date_to": "2026-11-30"}


@dataclass
class Raw:
    """What the test wrote, to compute the expected figures from."""

    transactions: list[dict[str, Any]] = field(default_factory=list)
    expenses: list[dict[str, Any]] = field(default_factory=list)

    def add_tx(self, owner: Owner, at: datetime, amount: int, **kw: Any) -> None:
        row = tx(owner, at, amount, **kw)
        self.transactions.append(
            {
                "owner": owner.pk,
                "time": at,
                "amount": amount,
                "result": row.result,
                "reverse_id": row.reverse_id,
                "terminal": row.terminal_id,
                "item": row.machine_item_id,
            }
        )

    def add_expense(self, owner: Owner, at: datetime, rubles: str) -> None:
        expense(owner, at, rubles)
        self.expenses.append({"owner": owner.pk, "at": at, "amount": Decimal(rubles)})


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(first, time.min, MSK),
        datetime.combine(last + timedelta(days=1), time.min, MSK),
    )


def expected_sales(raw: Raw, owner: Owner, first: date, last: date) -> list[dict[str, Any]]:
    start, end = _bounds(first, last)
    return [
        row
        for row in raw.transactions
        if row["owner"] == owner.pk
        and row["result"] == "1"
        and row["reverse_id"] == 0
        and start <= row["time"] < end
    ]


def _kopecks(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def expected_summary(
    raw: Raw, owner: Owner, first: date, last: date, acquiring: str, tax_system: str
) -> dict[str, str | int]:
    """§13 by hand: revenue = Σ kopecks / 100; acquiring = revenue × % / 100; 6 % of the
    revenue after acquiring, or 15 % of max(0, that − expenses); net = after − expenses − tax.
    Every money figure is rounded to kopecks before the next one uses it."""
    sold = expected_sales(raw, owner, first, last)
    start, end = _bounds(first, last)
    spent = sum(
        (e["amount"] for e in raw.expenses if e["owner"] == owner.pk and start <= e["at"] < end),
        Decimal(0),
    )
    revenue = Decimal(sum(row["amount"] for row in sold)) / 100
    fee = _kopecks(revenue * Decimal(acquiring) / 100)
    after = revenue - fee
    if tax_system == "income_6":
        tax = _kopecks(after * 6 / 100)
    elif tax_system == "income_expense_15":
        tax = _kopecks(max(Decimal(0), after - spent) * 15 / 100)
    else:
        tax = Decimal(0)
    return {
        "sales_count": len(sold),
        "revenue": f"{revenue:.2f}",
        "acquiring": f"{fee:.2f}",
        "revenue_after_acquiring": f"{after:.2f}",
        "expenses": f"{spent:.2f}",
        "tax": f"{tax:.2f}",
        "net_profit": f"{after - spent - tax:.2f}",
    }


@dataclass
class Shop:
    tenant: Tenant
    other: Owner
    raw: Raw
    terminals: dict[str, Terminal]


@pytest.fixture
def shop() -> Shop:
    """November 2026 of one owner (and another owner's noise): every kind of row §13 names."""
    tenant = make_tenant(Role.OWNER)
    owner = tenant.owner
    other = Owner.objects.create(name="Соседи")
    raw = Raw()
    mall = terminal(owner, "ТЦ Галерея")
    office = terminal(owner, "Бизнес-центр")
    old = terminal(owner, "Снятая стойка", active=False)
    idle = terminal(owner, "Аэропорт")  # active, sells nothing
    foreign = terminal(other, "Чужая")

    # Sales in the month, of several drinks and amounts, a free drink among them.
    for day in range(1, 31):
        raw.add_tx(owner, msk(2026, 11, day, 9, 15), 15_000, terminal=mall, item=1)
        raw.add_tx(owner, msk(2026, 11, day, 12, 40), 17_550 + day, terminal=office, item=2)
        if day % 3 == 0:
            raw.add_tx(owner, msk(2026, 11, day, 18, 5), 9_999, terminal=mall, item=3)
    raw.add_tx(owner, msk(2026, 11, 10, 10, 0), 0, terminal=office, item=1)  # free drink
    raw.add_tx(owner, msk(2026, 11, 11, 10, 0), 12_000, terminal=old, item=2)  # old terminal
    raw.add_tx(owner, msk(2026, 11, 12, 10, 0), 13_000, terminal=None, item=4)  # unknown term.
    # Not sales: failed payments and reversals (both shapes), whatever their amount.
    raw.add_tx(owner, msk(2026, 11, 5, 11, 0), 15_000, terminal=mall, result="0")
    raw.add_tx(owner, msk(2026, 11, 5, 11, 1), 15_000, terminal=mall, result="2")
    raw.add_tx(owner, msk(2026, 11, 6, 11, 0), 15_000, terminal=mall, reverse_id=9_100_000_001)
    raw.add_tx(owner, msk(2026, 11, 7, 11, 0), -15_000, terminal=mall, reverse_id=77)
    # Moscow midnight boundaries: the first and last instants are in, their neighbours out.
    raw.add_tx(owner, msk(2026, 10, 31, 23, 59, 59), 100_000, terminal=mall)
    raw.add_tx(owner, msk(2026, 11, 1, 0, 0, 0), 1_111, terminal=mall)
    raw.add_tx(owner, msk(2026, 11, 30, 23, 59, 59), 2_222, terminal=office)
    raw.add_tx(owner, msk(2026, 12, 1, 0, 0, 0), 200_000, terminal=office)
    # 2026-11-01 02:30 Moscow is still October 31 in UTC: a UTC day boundary would drop it.
    raw.add_tx(owner, msk(2026, 11, 1, 2, 30), 3_333, terminal=mall, item=2)
    # Another owner's sales in the same month.
    for day in range(1, 29):
        raw.add_tx(other, msk(2026, 11, day, 10, 0), 50_000, terminal=foreign, item=1)

    raw.add_expense(owner, msk(2026, 11, 1, 0, 0), "15000.00")
    raw.add_expense(owner, msk(2026, 11, 15, 13, 0), "4321.55")
    raw.add_expense(owner, msk(2026, 11, 30, 23, 59, 59), "999.99")
    raw.add_expense(owner, msk(2026, 10, 31, 23, 59, 59), "70000.00")
    raw.add_expense(owner, msk(2026, 12, 1, 0, 0), "80000.00")
    raw.add_expense(other, msk(2026, 11, 15, 12, 0), "123456.00")

    for name, item in [("Капучино", 1), ("Латте", 2)]:
        Recipe.objects.create(terminal=mall, machine_item_id=item, name=name)
        Recipe.objects.create(terminal=office, machine_item_id=item, name=name)
    Recipe.objects.create(terminal=old, machine_item_id=2, name="Латте большой")
    return Shop(
        tenant,
        other,
        raw,
        {"mall": mall, "office": office, "old": old, "idle": idle, "foreign": foreign},
    )


@pytest.mark.parametrize(
    ("tax_system", "acquiring"),
    [("income_6", "1.65"), ("income_expense_15", "2.10"), ("", "0"), ("income_6", "0")],
)
def test_month_summary_matches_the_raw_rows(shop: Shop, tax_system: str, acquiring: str) -> None:
    VendistaAccount.objects.create(
        owner=shop.tenant.owner, tax_system=tax_system, acquiring_percent=Decimal(acquiring)
    )

    response = shop.tenant.client.get(SUMMARY, NOVEMBER)

    assert response.status_code == 200, response.content
    body = response.json()
    want = expected_summary(
        shop.raw, shop.tenant.owner, date(2026, 11, 1), date(2026, 11, 30), acquiring, tax_system
    )
    assert {key: body[key] for key in want} == want
    assert body["date_from"] == "2026-11-01" and body["date_to"] == "2026-11-30"
    assert body["tax_system"] == tax_system
    assert body["acquiring_percent"] == f"{Decimal(acquiring):.2f}"
    # The seed is not degenerate: it has sales, expenses and excluded rows of every kind.
    assert body["sales_count"] == 30 * 2 + 10 + 3 + 3 and Decimal(body["expenses"]) > 0


def test_fifteen_percent_tax_is_zero_when_expenses_exceed_the_revenue(shop: Shop) -> None:
    owner = shop.tenant.owner
    VendistaAccount.objects.create(
        owner=owner, tax_system="income_expense_15", acquiring_percent=Decimal("1.5")
    )
    shop.raw.add_expense(owner, msk(2026, 11, 20, 12, 0), "500000.00")

    body = shop.tenant.client.get(SUMMARY, NOVEMBER).json()

    want = expected_summary(
        shop.raw, owner, date(2026, 11, 1), date(2026, 11, 30), "1.5", "income_expense_15"
    )
    assert body["tax"] == "0.00" == want["tax"]
    assert body["net_profit"] == want["net_profit"] and Decimal(body["net_profit"]) < 0


def test_summary_without_a_vendista_connection_has_no_acquiring_or_tax(shop: Shop) -> None:
    body = shop.tenant.client.get(SUMMARY, {"date_from": "2026-11-01", "date_to": "2026-11-15"})
    want = expected_summary(
        shop.raw, shop.tenant.owner, date(2026, 11, 1), date(2026, 11, 15), "0", ""
    )
    assert {key: body.json()[key] for key in want} == want
    assert body.json()["acquiring"] == "0.00" and body.json()["tax"] == "0.00"


def test_default_period_is_the_current_moscow_month(shop: Shop) -> None:
    # 21:30 UTC on November 30 is already December 1 in Moscow.
    with time_machine.travel(datetime(2026, 11, 30, 21, 30, tzinfo=UTC), tick=False):
        december = shop.tenant.client.get(SUMMARY).json()
    with time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), tick=False):
        november = shop.tenant.client.get(SUMMARY).json()

    assert (december["date_from"], december["date_to"]) == ("2026-12-01", "2026-12-31")
    assert december["sales_count"] == 1 and december["revenue"] == "2000.00"
    assert (november["date_from"], november["date_to"]) == ("2026-11-01", "2026-11-30")
    assert november == shop.tenant.client.get(SUMMARY, NOVEMBER).json()


def test_one_bound_given_takes_the_rest_of_its_month(shop: Shop) -> None:
    client = shop.tenant.client
    only_from = client.get(SUMMARY, {"date_from": "2026-11-20"}).json()
    only_to = client.get(SUMMARY, {"date_to": "2026-11-10"}).json()
    assert (only_from["date_from"], only_from["date_to"]) == ("2026-11-20", "2026-11-30")
    assert (only_to["date_from"], only_to["date_to"]) == ("2026-11-01", "2026-11-10")


@pytest.mark.parametrize("url", [SUMMARY, TERMINALS, DRINKS])
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2026-13-01"}, "date_from"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_to": "2026-11-31"}, "date_to"),
        ({"date_from": "0001-01-01", "date_to": "0001-01-02"}, "date_from"),
        ({"date_from": "9999-12-30", "date_to": "9999-12-31"}, "date_from"),
        ({"date_from": "2026-11-30", "date_to": "2026-11-01"}, "date_to"),
        ({"date_from": "2025-01-01", "date_to": "2026-11-30"}, "date_to"),
        ({"date_from": "20261101"}, "date_from"),
        ({"date_to": ""}, "date_to"),
    ],
)
def test_bad_periods_answer_400_with_the_field(
    shop: Shop, url: str, params: dict[str, str], field: str
) -> None:
    response = shop.tenant.client.get(url, params)
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_a_leap_year_is_not_too_long(shop: Shop) -> None:
    response = shop.tenant.client.get(SUMMARY, {"date_from": "2028-01-01", "date_to": "2028-12-31"})
    assert response.status_code == 200


@pytest.mark.parametrize("url", [SUMMARY, TERMINALS, DRINKS])
def test_finance_is_for_owners_and_admins_only(shop: Shop, url: str) -> None:
    admin = make_tenant(Role.ADMIN, owner=shop.tenant.owner)
    service = make_tenant(Role.SERVICE, owner=shop.tenant.owner)
    assert admin.client.get(url, NOVEMBER).status_code == 200
    assert service.client.get(url, NOVEMBER).status_code == 403
    stranger = make_tenant(Role.OWNER)
    assert (
        stranger.client.get(url, NOVEMBER, HTTP_X_OWNER_ID=str(shop.tenant.owner.pk)).status_code
        == 403
    )


def test_admin_sees_the_owners_figures(shop: Shop) -> None:
    admin = make_tenant(Role.ADMIN, owner=shop.tenant.owner)
    assert (
        admin.client.get(SUMMARY, NOVEMBER).json()
        == shop.tenant.client.get(SUMMARY, NOVEMBER).json()
    )


def test_sales_per_terminal_count_each_active_terminal(
    shop: Shop, django_assert_max_num_queries: Any
) -> None:
    owner = shop.tenant.owner
    sold = expected_sales(shop.raw, owner, date(2026, 11, 1), date(2026, 11, 30))
    counts = Counter(row["terminal"] for row in sold)
    kopecks: dict[int | None, int] = defaultdict(int)
    for row in sold:
        kopecks[row["terminal"]] += row["amount"]

    with django_assert_max_num_queries(8):
        response = shop.tenant.client.get(TERMINALS, NOVEMBER)

    assert response.status_code == 200
    rows = response.json()["terminals"]
    active = [shop.terminals[key] for key in ("idle", "office", "mall")]  # by name
    assert [row["terminal_id"] for row in rows] == [t.pk for t in active]
    for row, term in zip(rows, active, strict=True):
        assert row["name"] == term.name and row["vendista_terminal_id"] == term.vendista_id
        assert row["sales_count"] == counts[term.pk]
        assert row["revenue"] == f"{Decimal(kopecks[term.pk]) / 100:.2f}"
    assert rows[0]["sales_count"] == 0 and rows[0]["revenue"] == "0.00"


def test_sales_per_drink_name_the_drink_and_split_it_by_terminal(
    shop: Shop, django_assert_max_num_queries: Any
) -> None:
    owner = shop.tenant.owner
    sold = [
        row
        for row in expected_sales(shop.raw, owner, date(2026, 11, 1), date(2026, 11, 30))
        if row["terminal"] is not None and row["item"] is not None
    ]
    per_pair = Counter((row["item"], row["terminal"]) for row in sold)
    per_item = Counter(row["item"] for row in sold)

    with django_assert_max_num_queries(8):
        response = shop.tenant.client.get(DRINKS, NOVEMBER)

    assert response.status_code == 200
    drinks = response.json()["drinks"]
    assert [d["machine_item_id"] for d in drinks] == sorted(
        per_item, key=lambda item: (-per_item[item], item)
    )
    by_item = {d["machine_item_id"]: d for d in drinks}
    for item, drink in by_item.items():
        assert drink["total_count"] == per_item[item]
        assert {t["terminal_id"]: t["sales_count"] for t in drink["terminals"]} == {
            term: n for (i, term), n in per_pair.items() if i == item
        }
    assert by_item[1]["display_name"] == "Капучино"  # both terminals name it alike
    # Latte is "Латте" on two terminals and "Латте большой" on the retired one.
    assert by_item[2]["display_name"] == "Смешанные названия"
    old = next(t for t in by_item[2]["terminals"] if t["terminal_id"] == shop.terminals["old"].pk)
    assert old == {
        "terminal_id": shop.terminals["old"].pk,
        "terminal_name": "Снятая стойка",
        "recipe_name": "Латте большой",
        "sales_count": 1,
    }
    assert by_item[3]["display_name"] == "Напиток #3"  # no recipe anywhere
    assert by_item[3]["terminals"][0]["recipe_name"] is None
    assert 4 not in by_item  # the unknown terminal's sale has no terminal to show


def test_mixed_names_are_translated(shop: Shop) -> None:
    response = shop.tenant.client.get(DRINKS, NOVEMBER, HTTP_ACCEPT_LANGUAGE="en")
    names = {d["machine_item_id"]: d["display_name"] for d in response.json()["drinks"]}
    assert names[2] == "Mixed names" and names[3] == "Drink #3"


def test_stats_never_show_another_owners_terminals(shop: Shop) -> None:
    theirs = make_tenant(Role.OWNER, owner=shop.other)
    terminals = theirs.client.get(TERMINALS, NOVEMBER).json()["terminals"]
    drinks = theirs.client.get(DRINKS, NOVEMBER).json()["drinks"]
    assert [t["terminal_id"] for t in terminals] == [shop.terminals["foreign"].pk]
    assert {t["terminal_id"] for d in drinks for t in d["terminals"]} == {
        shop.terminals["foreign"].pk
    }
    summary = theirs.client.get(SUMMARY, NOVEMBER).json()
    assert summary["sales_count"] == 28 and summary["expenses"] == "123456.00"


def test_a_sale_pointing_at_another_owners_terminal_shows_no_foreign_name(shop: Shop) -> None:
    # The terminal reference is not checked by the database: a bad one must not leak.
    owner = shop.tenant.owner
    tx(owner, msk(2026, 11, 9, 9, 0), 100, terminal=shop.terminals["foreign"], item=9)
    drinks = shop.tenant.client.get(DRINKS, NOVEMBER).json()["drinks"]
    terminals = shop.tenant.client.get(TERMINALS, NOVEMBER).json()["terminals"]
    assert 9 not in {d["machine_item_id"] for d in drinks}
    assert "Чужая" not in str(drinks) + str(terminals)
