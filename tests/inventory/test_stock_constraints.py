"""What the database itself guarantees about stock rows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from inventory.models import Inventory, Location, RecipePreset
from tenancy.models import Owner
from vendista.models import Terminal

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner() -> Owner:
    return Owner.objects.create(name="Кофе")


def test_one_warehouse_row_per_owner_and_item_even_without_a_terminal(owner: Owner) -> None:
    Inventory.objects.create(owner=owner, location=Location.WAREHOUSE, item_name="Кофе")
    with pytest.raises(IntegrityError), transaction.atomic():
        Inventory.objects.create(owner=owner, location=Location.WAREHOUSE, item_name="Кофе")
    other = Owner.objects.create(name="Другой")
    Inventory.objects.create(owner=other, location=Location.WAREHOUSE, item_name="Кофе")
    assert Inventory.objects.filter(item_name="Кофе").count() == 2


def test_stand_and_machine_rows_belong_to_a_terminal_and_the_warehouse_to_none(
    owner: Owner,
) -> None:
    terminal = Terminal.objects.create(owner=owner, vendista_id=1)
    Inventory.objects.create(owner=owner, terminal=terminal, location="stand", item_name="Кофе")
    Inventory.objects.create(owner=owner, terminal=terminal, location="machine", item_name="Кофе")
    with pytest.raises(IntegrityError), transaction.atomic():
        Inventory.objects.create(owner=owner, location="machine", item_name="Вода")
    with pytest.raises(IntegrityError), transaction.atomic():
        Inventory.objects.create(
            owner=owner, terminal=terminal, location="warehouse", item_name="Вода"
        )


def test_stock_never_goes_negative(owner: Owner) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Inventory.objects.create(
            owner=owner, location="warehouse", item_name="Кофе", current_stock=Decimal("-1")
        )


def test_the_21_global_presets_are_seeded_with_plural_inventory_names(global_presets: None) -> None:
    presets = RecipePreset.objects.filter(owner=None)
    assert presets.count() == 21
    cappuccino = presets.get(name="Капучино (250 мл)")
    assert {row["item_name"]: row["quantity"] for row in cappuccino.items} == {
        "Кофе": 10,
        "Вода": 175,
        "Сливки": 34,
        "Стаканы": 1,
        "Крышки": 1,
        "Сахар": 2,
        "Размешиватели": 1,
    }
