"""A coffee-point owner with a bit of everything the staff API shows: terminals, stock in every
place, recipes, an owner preset, sales (one needing a recipe), tasks, change-log rows, and the
planning rows: settings, forecasts, a pick list and a stock audit."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import F
from django.utils import timezone

from core.clock import moscow_today
from inventory.models import ChangeSource, Inventory, InventoryChange, Location, RecipePreset
from inventory.services import create_default_containers, save_recipe
from planning.models import PlanningSettings, StockAudit
from planning.services import create_pick_list, record_audit, refresh_forecasts
from tasks_app.models import Task, TaskStatus, TaskType, TerminalAssignment
from tenancy.models import Owner
from vendista.models import DeductionState, Expense, Terminal, Transaction

_ids = itertools.count(9_000_000_000)


@dataclass
class Shop:
    owner: Owner
    terminals: list[Terminal]
    marker: str
    objects: dict[str, list[Any]] = field(default_factory=dict)


def seed_shop(owner: Owner, *, marker: str, assignee: Any = None) -> Shop:
    """Two terminals (default containers, stand stock), warehouse stock, recipes, a preset,
    sales and tasks; every name carries `marker` so a leak to another tenant is easy to spot."""
    terminals = [
        Terminal.objects.create(
            owner=owner,
            vendista_id=next(_ids),
            name=f"{marker} терминал {n}",
            serial_number=f"{marker}-SN{n}",
            is_online=n == 1,
        )
        for n in (1, 2)
    ]
    create_default_containers(owner.pk, [t.pk for t in terminals])
    Inventory.objects.filter(owner=owner, location=Location.MACHINE).update(
        current_stock=F("max_stock") / 2  # Кофе: 750 of 1,500 g
    )
    Inventory.objects.filter(owner=owner, terminal=terminals[0], item_name="Кофе").update(
        current_stock=Decimal(100)
    )
    for name, qty in (("Кофе", 20000), ("Стаканы", 2000), ("Вода", 100000)):
        Inventory.objects.create(
            owner=owner, location=Location.WAREHOUSE, item_name=name, current_stock=Decimal(qty)
        )
        Inventory.objects.create(
            owner=owner,
            terminal=terminals[0],
            location=Location.STAND,
            item_name=name,
            current_stock=Decimal(qty) / 10,
        )
    recipes = [
        save_recipe(
            terminal.pk,
            item,
            name=f"{marker} напиток {item}",
            items={"Кофе": Decimal(8 + item), "Вода": Decimal(150), "Стаканы": Decimal(1)},
        )
        for terminal in terminals
        for item in (1, 2)
    ]
    preset = RecipePreset.objects.create(
        owner=owner,
        name=f"{marker} пресет",
        items=[{"item_name": "Кофе", "quantity": 9}, {"item_name": "Вода", "quantity": 120}],
    )
    now = timezone.now()
    sales = [
        Transaction.objects.create(
            id=next(_ids),
            owner=owner,
            vendista_terminal_id=terminals[0].vendista_id,
            terminal=terminals[0],
            machine_item_id=item,
            amount=15000,
            time=now - timedelta(hours=n),
            result="1",
            terminal_comment=terminals[0].name,
            deduction_state=state,
        )
        for n, (item, state) in enumerate(
            [(1, DeductionState.DEDUCTED), (2, DeductionState.DEDUCTED), (7, "needs_recipe")]
        )
    ]
    if assignee is not None:
        TerminalAssignment.objects.create(terminal=terminals[0], restock_assignee=assignee)
    tasks = [
        Task.objects.create(
            owner=owner,
            terminal=terminals[0],
            task_type=TaskType.RESTOCK,
            assignee=assignee,
            is_auto=True,
            details={"critical_items": ["Кофе"], "missing_items": []},
        ),
        Task.objects.create(
            owner=owner,
            terminal=terminals[1],
            task_type=TaskType.SERVICE,
            status=TaskStatus.PENDING,
            assignee=assignee,
            comment=f"{marker} почистить",
        ),
    ]
    change = InventoryChange.objects.create(
        owner=owner,
        terminal=None,
        location=Location.WAREHOUSE,
        item_name="Кофе",
        source=ChangeSource.WAREHOUSE_ADJUST,
        quantity_before=Decimal(19000),
        quantity_after=Decimal(20000),
    )
    expenses = [
        Expense.objects.create(
            owner=owner, amount=Decimal("1500.00"), comment=f"{marker} аренда", spent_at=now
        )
    ]
    # Planning: settings, forecasts of every machine container, a pick list, an audit.
    PlanningSettings.objects.create(owner=owner, visit_interval_days=5)
    refresh_forecasts(owner.pk)
    pick_list = create_pick_list(owner.pk, moscow_today(), user_id=None)
    coffee = Inventory.objects.get(
        owner=owner, terminal=terminals[0], location=Location.MACHINE, item_name="Кофе"
    )
    # Measured as the books say: no variance, so the stock and the change log stay as seeded.
    audit: StockAudit = record_audit(
        owner.pk,
        coffee.pk,
        coffee.current_stock,
        method="eye",
        user_id=None,
        comment=f"{marker} замер",
    )
    return Shop(
        owner=owner,
        terminals=terminals,
        marker=marker,
        objects={
            "recipes": recipes,
            "presets": [preset],
            "transactions": sales,
            "tasks": tasks,
            "changes": [change],
            "expenses": expenses,
            "pick_lists": [pick_list],
            "audits": [audit],
        },
    )
