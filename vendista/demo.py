"""Demo coffee points: the demo owner's Vendista connection to the local sandbox, its four
terminals with containers, recipes and stock, and the first imports queued (DEV only)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core.clock import moscow_today
from inventory.models import Inventory, Location, Recipe, RecipeItem
from inventory.reference import recipe_presets
from sandboxes.vendista import DEMO_LOGIN, DEMO_PASSWORD
from sandboxes.vendista.data import demo_accounts
from tasks_app.models import TerminalAssignment
from tenancy.demo import DEMO_OWNER_NAME
from tenancy.models import Owner
from vendista.client import VendistaTerminal
from vendista.models import Expense, ImportMode, RunKind, TaxSystem, Terminal, VendistaAccount
from vendista.services import accounts, runs, sync

# Machine items 1..7 get a drink; item 8 stays without a recipe so "needs a recipe" shows.
DEMO_RECIPES = 7


def seed(log: list[str]) -> None:
    """Create or reset the demo coffee points. Safe to re-run."""
    owner = Owner.objects.get(name=DEMO_OWNER_NAME)
    with transaction.atomic():
        account, _ = VendistaAccount.objects.get_or_create(owner=owner)
        account.setup_date = moscow_today() - timedelta(days=30)
        account.tax_system = TaxSystem.INCOME_6
        account.acquiring_percent = Decimal("1.6")
        account.imports_enabled = True
        account.payment_status = "active"
        accounts.set_credentials(account, DEMO_LOGIN, DEMO_PASSWORD)
        sandbox_terminals = demo_accounts(today=moscow_today())[0].terminals
        sync.store_terminals(
            owner.pk,
            [
                VendistaTerminal(
                    id=t.id,
                    comment=t.comment,
                    serial_number=t.serial_number,
                    last_online_time=timezone.make_aware(t.last_online_time),
                    last_hour_online=t.last_hour_online,
                )
                for t in sandbox_terminals
            ],
        )
        presets = recipe_presets()
        service_user = get_user_model().objects.filter(username="demo-service").first()
        for terminal in Terminal.objects.filter(owner=owner):
            for item in range(1, DEMO_RECIPES + 1):
                preset = presets[(item - 1) % len(presets)]
                recipe, _ = Recipe.objects.update_or_create(
                    terminal=terminal, machine_item_id=item, defaults={"name": preset["name"]}
                )
                recipe.items.all().delete()
                RecipeItem.objects.bulk_create(
                    RecipeItem(
                        recipe=recipe,
                        item_name=row["item_name"],
                        quantity=Decimal(str(row["quantity"])),
                    )
                    for row in preset["items"]
                    if row["quantity"] > 0
                )
            TerminalAssignment.objects.update_or_create(
                terminal=terminal, defaults={"restock_assignee": service_user}
            )
            # Machines 70 % full; the first terminal's cups nearly out, so a task appears soon.
            for row in Inventory.objects.filter(terminal=terminal, location=Location.MACHINE):
                row.current_stock = (row.max_stock or Decimal(0)) * Decimal("0.7")
                row.save(update_fields=["current_stock"])
        first = Terminal.objects.filter(owner=owner).order_by("id").first()
        if first is not None:
            Inventory.objects.filter(terminal=first, item_name="Стаканы").update(
                current_stock=Decimal(35)
            )
        for name, quantity in {
            "Кофе": 12000,
            "Вода": 190000,
            "Стаканы": 800,
            "Крышки": 800,
            "Сливки": 6000,
            "Сахар": 1500,
        }.items():
            Inventory.objects.update_or_create(
                owner=owner,
                terminal=None,
                location=Location.WAREHOUSE,
                item_name=name,
                defaults={"current_stock": Decimal(quantity)},
            )
        _seed_expenses(owner)
    # Older sales as history (no deduction), the last day as regular sales that use stock.
    start, now = runs.window_for("history", setup=account.setup_date)
    history = runs.enqueue(
        owner.pk,
        window=(start, now - timedelta(hours=24)),
        mode=ImportMode.HISTORICAL,
        trigger="demo",
        skip_if_active=False,
    )
    recent = runs.enqueue(owner.pk, window_kind="last_24h", trigger="demo", skip_if_active=False)
    sync_run = runs.enqueue(owner.pk, kind=RunKind.SYNC, trigger="demo", skip_if_active=False)
    log.append(
        f"Vendista (sandbox): login {DEMO_LOGIN}, {len(sandbox_terminals)} terminals; "
        f"imports queued: history #{history}, last 24 h #{recent}, sync #{sync_run}"
    )


def _seed_expenses(owner: Owner) -> None:
    """A month's rent and a purchase of ingredients, so the finance summary has expenses."""
    today = moscow_today()
    for days_ago, amount, comment in [
        (today.day - 1, "15000.00", "Аренда мест в ТЦ (демо)"),
        (min(today.day - 1, 10), "8450.00", "Закупка кофе и стаканов (демо)"),
    ]:
        day = today - timedelta(days=days_ago)
        Expense.objects.update_or_create(
            owner=owner,
            comment=comment,
            spent_at__date=day,
            defaults={
                "amount": Decimal(amount),
                "spent_at": timezone.make_aware(datetime.combine(day, time(12, 0))),
            },
        )
