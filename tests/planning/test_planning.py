"""Forecasts, pick lists and stock audits on a seeded history, against figures computed by hand."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db.models import F
from django.utils import translation

from core.clock import MOSCOW
from inventory.models import ChangeSource, Inventory, InventoryChange, Location
from inventory.services import create_default_containers, save_recipe
from planning import services
from planning.models import Forecast, PickList, PlanningSettings, StockAudit
from tasks_app.models import Task, TaskType, TerminalAssignment
from tasks_app.services import open_early_restock_tasks
from tenancy.models import Role
from tests.helpers.tenancy import make_tenant
from vendista.models import DeductionState, Terminal, Transaction

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)  # a Monday
NOW = datetime.combine(TODAY, time(10, 0), MOSCOW)
OFFLINE_DAYS = {TODAY - timedelta(days=n) for n in (5, 12, 20)}
SALES_PER_DAY = 10  # one drink: 8 g of coffee and a cup
_ids = itertools.count(7_000_000_000)


class Seeded:
    def __init__(self) -> None:
        self.boss = make_tenant(Role.OWNER)
        self.service = make_tenant(Role.SERVICE, owner=self.boss.owner)
        self.owner = self.boss.owner
        self.terminal = Terminal.objects.create(owner=self.owner, vendista_id=next(_ids), name="T")
        create_default_containers(self.owner.pk, [self.terminal.pk])
        machine = Inventory.objects.filter(terminal=self.terminal, location=Location.MACHINE)
        machine.update(current_stock=F("max_stock"))  # everything else full: nothing to bring
        self.coffee = machine.get(item_name="Кофе")
        self.cups = machine.get(item_name="Стаканы")
        for row, stock, capacity, critical in (
            (self.coffee, 1000, 1500, 190),
            (self.cups, 100, 300, 30),
        ):
            row.current_stock, row.max_stock = Decimal(stock), Decimal(capacity)
            row.critical_stock = Decimal(critical)
            row.save()
        save_recipe(
            self.terminal.pk, 1, name="Эспрессо", items={"Кофе": Decimal(8), "Стаканы": Decimal(1)}
        )
        Inventory.objects.create(
            owner=self.owner, location=Location.WAREHOUSE, item_name="Кофе", current_stock=500
        )
        Inventory.objects.create(
            owner=self.owner, location=Location.WAREHOUSE, item_name="Стаканы", current_stock=1000
        )
        items = [
            {"inventory_id": self.coffee.pk, "quantity": "8.000"},
            {"inventory_id": self.cups.pk, "quantity": "1.000"},
        ]
        rows = []
        for back in range(1, 29):
            day = TODAY - timedelta(days=back)
            if day in OFFLINE_DAYS:
                continue  # the terminal was offline: not a single transaction
            for n in range(SALES_PER_DAY + 1):
                rows.append(
                    Transaction(
                        id=next(_ids),
                        owner=self.owner,
                        vendista_terminal_id=self.terminal.vendista_id,
                        terminal=self.terminal,
                        machine_item_id=1,
                        amount=15000,
                        time=datetime.combine(day, time(9 + n, 0), MOSCOW),
                        result="1",
                        deduction_state=DeductionState.DEDUCTED,
                        deducted_items=items,
                        # The day's extra sale was refunded: it does not count as use.
                        restored_at=NOW if n == SALES_PER_DAY else None,
                    )
                )
        Transaction.objects.bulk_create(rows)


@pytest.fixture
def seeded() -> Seeded:
    with time_machine.travel(NOW, tick=False):
        return Seeded()


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_forecast_skips_offline_days_and_dates_critical_and_empty(seeded, frozen):
    forecasts = services.forecast_containers(seeded.owner.pk)

    coffee = forecasts[seeded.coffee.pk]
    # 80 g on every one of the 25 online days (offline days do not pull the level down).
    assert coffee.days_of_history == 25
    assert [round(use, 6) for use in coffee.per_weekday] == [80.0] * 7
    # 1000 g, 80 g a day from today: 190 g (critical) is passed on day 11, 0 g on day 13.
    assert (coffee.critical_on, coffee.empty_on) == (
        TODAY + timedelta(days=10),
        TODAY + timedelta(days=12),
    )
    assert services.refresh_forecasts(seeded.owner.pk) == len(forecasts)
    stored = Forecast.objects.get(inventory=seeded.coffee)
    assert stored.daily_use == Decimal("80.000") and stored.critical_on == coffee.critical_on


def test_pick_list_quantities_equal_the_figures_computed_by_hand(seeded, frozen):
    response = seeded.service.client.post(
        "/api/pick-lists/",
        {"day": str(TODAY + timedelta(days=2)), "route": [seeded.terminal.pk]},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    # Visit on Wednesday: two days of use (160 g, 20 cups) before it; full at the visit.
    lines = {
        line["item_name"]: (
            Decimal(line["expected_at_visit"]),
            Decimal(line["use_until_next_visit"]),
            Decimal(line["quantity"]),
        )
        for line in body["lines"]
    }
    assert lines == {
        "Кофе": (Decimal(840), Decimal(560), Decimal(1500 - 840)),
        "Стаканы": (Decimal(80), Decimal(70), Decimal(300 - 80)),
    }
    assert body["next_visit_day"] == str(TODAY + timedelta(days=9))
    totals = {row["item_name"]: (row["quantity"], row["shortfall"]) for row in body["totals"]}
    assert {k: (Decimal(q), Decimal(s)) for k, (q, s) in totals.items()} == {
        "Кофе": (Decimal(660), Decimal(160)),  # 500 g in the warehouse
        "Стаканы": (Decimal(220), Decimal(0)),
    }
    assert body["has_shortfall"] is True

    pdf = seeded.service.client.get(f"/api/pick-lists/{body['id']}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_pick_list_refuses_a_past_day_and_foreign_terminals(seeded, frozen):
    other = make_tenant(Role.OWNER)
    foreign = Terminal.objects.create(owner=other.owner, vendista_id=next(_ids), name="X")
    client = seeded.boss.client
    past = client.post("/api/pick-lists/", {"day": str(TODAY - timedelta(days=1))}, format="json")
    theirs = client.post(
        "/api/pick-lists/", {"day": str(TODAY), "route": [foreign.pk]}, format="json"
    )
    assert (past.status_code, theirs.status_code) == (400, 400)
    assert "day" in past.json() and "route" in theirs.json()
    assert not PickList.objects.exists()


def test_an_audit_records_the_variance_and_moves_book_stock_in_one_logged_change(seeded):
    before = set(InventoryChange.objects.values_list("pk", flat=True))

    response = seeded.service.client.post(
        "/api/stock-audits/",
        {"inventory": seeded.coffee.pk, "measured_level": "940", "method": "weight"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert (response.json()["book_level"], response.json()["variance"]) == ("1000.000", "-60.000")
    seeded.coffee.refresh_from_db()
    assert seeded.coffee.current_stock == Decimal(940)
    new = InventoryChange.objects.exclude(pk__in=before)
    assert [(c.source, c.quantity_before, c.quantity_after) for c in new] == [
        (ChangeSource.AUDIT, Decimal(1000), Decimal(940))
    ]
    assert new.get().changed_by_id == seeded.service.user.pk


def test_shrinkage_report_and_a_recipe_correction_after_three_audits_one_way(seeded):
    start = datetime(2026, 3, 1, 9, 0, tzinfo=MOSCOW)
    for week in range(3):
        with time_machine.travel(start + timedelta(days=7 * week), tick=False):
            # 100 cups by the book (800 g) as the import logs them; 860 g really gone.
            InventoryChange.objects.create(
                owner=seeded.owner,
                terminal=seeded.terminal,
                location=Location.MACHINE,
                item_name="Кофе",
                source=ChangeSource.SALE,
                quantity_before=Decimal(1500),
                quantity_after=Decimal(700),
            )
            Inventory.objects.filter(pk=seeded.coffee.pk).update(current_stock=Decimal(700))
        with time_machine.travel(start + timedelta(days=7 * week, hours=5), tick=False):
            services.record_audit(
                seeded.owner.pk, seeded.coffee.pk, Decimal(640), method="eye", user_id=None
            )
            # Refilled after the audit, so the next week starts full.
            Inventory.objects.filter(pk=seeded.coffee.pk).update(current_stock=Decimal(1500))

    rows = services.shrinkage(seeded.owner.pk)
    assert [(r.item_name, r.audits, r.shortage, r.variance) for r in rows] == [
        ("Кофе", 3, Decimal(180), Decimal(-180))
    ]
    with translation.override("en"):
        (suggestion,) = services.suggest_recipe_corrections(seeded.owner.pk)
    assert suggestion.text == "Кофе: 8.6 g per cup measured against 8 g in the recipe"

    report = seeded.boss.client.get("/api/stock-audits/shrinkage/")
    assert report.status_code == 200
    assert report.json()["rows"][0]["shortage"] == "180.000"
    assert len(report.json()["suggestions"]) == 1
    assert seeded.service.client.get("/api/stock-audits/shrinkage/").status_code == 403
    assert StockAudit.objects.count() == 3


def test_service_staff_read_but_may_not_change_planning_settings(seeded):
    assert seeded.service.client.get("/api/planning-settings/").json() == {
        "visit_interval_days": 7,
        "early_task_horizon_days": 0,
    }
    change = {"visit_interval_days": 3}
    assert (
        seeded.service.client.patch("/api/planning-settings/", change, format="json").status_code
        == 403
    )
    assert (
        seeded.boss.client.patch("/api/planning-settings/", change, format="json").status_code
        == 200
    )
    assert services.settings_of(seeded.owner.pk).visit_interval_days == 3


@pytest.mark.parametrize(
    ("horizon", "expected"),
    # Forecast from today: cups reach critical on day 7 (today + 6), coffee on day 11.
    [(0, None), (5, None), (6, ["Стаканы"]), (10, ["Кофе", "Стаканы"])],
)
def test_an_early_task_opens_when_the_forecast_reaches_critical_within_the_horizon(
    seeded, frozen, horizon, expected
):
    PlanningSettings.objects.create(owner=seeded.owner, early_task_horizon_days=horizon)
    services.refresh_forecasts(seeded.owner.pk)

    open_early_restock_tasks(seeded.owner.pk)
    again = open_early_restock_tasks(seeded.owner.pk)

    tasks = Task.objects.filter(terminal=seeded.terminal, task_type=TaskType.RESTOCK)
    if expected is None:
        assert not tasks.exists()
        return
    (task,) = tasks  # one open restock task per terminal, whatever runs twice
    assert task.details["forecast_items"] == expected
    assert task.critical_items == expected
    assert again.created == [] and again.extended == {}


def test_a_restock_task_carries_its_pick_list_and_its_completion_is_prefilled(seeded, frozen):
    TerminalAssignment.objects.create(
        terminal=seeded.terminal, restock_assignee=seeded.service.user
    )
    PlanningSettings.objects.create(owner=seeded.owner, early_task_horizon_days=10)
    services.refresh_forecasts(seeded.owner.pk)
    (task_id,) = open_early_restock_tasks(seeded.owner.pk).created

    created = seeded.service.client.post(
        "/api/pick-lists/", {"day": str(TODAY + timedelta(days=2))}, format="json"
    )
    assert created.status_code == 201, created.content

    task = Task.objects.get(pk=task_id)
    assert task.pick_list_id is not None and task.pick_list_id == created.json()["id"]
    mine = seeded.service.client.get("/api/tasks/my/").json()["results"]
    bring = {row["item_name"]: Decimal(row["quantity"]) for row in mine[0]["bring"]}
    assert bring == {"Кофе": Decimal(660), "Стаканы": Decimal(220)}
    # Stock now plus what the list brings, never above the capacity.
    assert services.prefill_after_restock(task.pick_list_id, seeded.terminal.pk) == {
        "Кофе": Decimal(1500),
        "Стаканы": Decimal(300),
    }
