"""Helpers for the Vendista pipeline tests: a connected owner, recipes, stock, and the stock
effect a window of sandbox data must have, computed independently of the pipeline."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time
from decimal import Decimal

from core.clock import MOSCOW
from inventory.models import Inventory, Location, Recipe, RecipeItem
from sandboxes.vendista import SandboxAccount
from tenancy.models import Owner
from vendista.models import RunKind, Terminal, VendistaAccount
from vendista.services import accounts, runs

# What each machine item consumes in the tests: item k uses k g of coffee, 100 ml water, 1 cup.
RECIPE_ITEMS = 5  # machine items 1..5 have recipes; 6.. (if generated) need one


def recipe_for(machine_item_id: int) -> dict[str, Decimal]:
    return {
        "Кофе": Decimal(machine_item_id),
        "Вода": Decimal(100),
        "Стаканы": Decimal(1),
    }


def connect_owner(sandbox_account: SandboxAccount, name: str = "Кофейня") -> Owner:
    owner = Owner.objects.create(name=name)
    account = VendistaAccount.objects.create(owner=owner, setup_date=date(2026, 1, 1))
    accounts.set_credentials(account, sandbox_account.login, sandbox_account.password)
    return owner


def sync(owner: Owner) -> None:
    run = runs.create_run(owner.pk, kind=RunKind.SYNC, trigger="test", skip_if_active=False)
    assert run is not None
    summary = runs.execute_run(run.pk)
    assert summary.status == "succeeded", summary.error


def configure(owner: Owner, *, stock: Decimal = Decimal(1_000_000)) -> None:
    """Recipes for machine items 1..RECIPE_ITEMS on every terminal; machine stock set high."""
    for terminal in Terminal.objects.filter(owner=owner):
        for item in range(1, RECIPE_ITEMS + 1):
            recipe = Recipe.objects.create(
                terminal=terminal, machine_item_id=item, name=f"Напиток #{item}"
            )
            for name, quantity in recipe_for(item).items():
                RecipeItem.objects.create(recipe=recipe, item_name=name, quantity=quantity)
    Inventory.objects.filter(owner=owner, location=Location.MACHINE).update(current_stock=stock)


def window(first: date, last: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(first, time.min, MOSCOW),
        datetime.combine(last, time(23, 59, 59), MOSCOW),
    )


def import_window(
    owner: Owner, first: date, last: date, *, historical: bool = False
) -> runs.RunSummary:
    summary = runs.run_now(
        owner.pk,
        window=window(first, last),
        mode="historical" if historical else "regular",
        trigger="test",
    )
    assert summary.status == "succeeded", summary.error
    return summary


def expected_use(
    sandbox_account: SandboxAccount, owner: Owner, first: date, last: date
) -> dict[tuple[int, str], Decimal]:
    """Ingredients the sales of the window must have consumed, from the sandbox's own data:
    paid, not reversed (by its own reverse id or by a refund row), on a known terminal, with a
    recipe."""
    terminals = dict(Terminal.objects.filter(owner=owner).values_list("vendista_id", "id"))
    lo, hi = first.isoformat(), (last.isoformat() + "T23:59:59.999")
    rows = [tx for tx in sandbox_account.transactions if lo <= tx.time <= hi]
    refunded = {tx.reverse_id for tx in rows if tx.reverse_id}
    use: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for tx in rows:
        item = tx.machine_item_id
        if not tx.is_sale or tx.id in refunded or tx.term_id not in terminals:
            continue
        if item is None or not 1 <= item <= RECIPE_ITEMS:
            continue
        for name, quantity in recipe_for(item).items():
            use[(terminals[tx.term_id], name)] += quantity
    return dict(use)


def machine_stock(owner: Owner) -> dict[tuple[int, str], Decimal]:
    return {
        (terminal_id, name): stock
        for terminal_id, name, stock in Inventory.objects.filter(
            owner=owner, location=Location.MACHINE
        ).values_list("terminal_id", "item_name", "current_stock")
    }


def used_since(
    before: dict[tuple[int, str], Decimal], after: dict[tuple[int, str], Decimal]
) -> dict[tuple[int, str], Decimal]:
    return {key: before[key] - after[key] for key in before if before[key] != after[key]}
