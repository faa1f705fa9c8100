"""Parallel transfers of the same stock through a live server: row locks keep every unit
accounted for and the source never below zero."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from rest_framework.authtoken.models import Token

from inventory.models import Inventory, InventoryChange
from tenancy.models import Role
from tests.helpers.coffee_shop import seed_shop
from tests.helpers.tenancy import make_tenant

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 12


def test_parallel_transfers_never_drive_stock_negative(live_server):
    owner_tenant = make_tenant(Role.OWNER)
    shop = seed_shop(owner_tenant.owner, marker="P")
    terminal = shop.terminals[0]
    # Two people moving the stand's coffee at once: one back to the warehouse, one to the stand
    # of the other terminal.
    service = make_tenant(Role.SERVICE, owner=owner_tenant.owner)
    tokens = [
        Token.objects.get(user=owner_tenant.user).key,
        Token.objects.get(user=service.user).key,
    ]
    stand = {"location": "stand", "terminal": terminal.pk}
    other = shop.terminals[1]
    destinations = [{"location": "warehouse"}, {"location": "stand", "terminal": other.pk}]
    # the stand has 2,000 g; each move takes 300 g → exactly 6 of the 12 can succeed
    barrier = threading.Barrier(PARALLEL)

    def move(n: int) -> int:
        barrier.wait()
        response = requests.post(
            f"{live_server.url}/api/inventory/transfer/",
            json={
                "source": stand,
                "destination": destinations[n % 2],
                "item_name": "Кофе",
                "quantity": "300",
            },
            headers={"Authorization": f"Token {tokens[n % 2]}"},
            timeout=30,
        )
        assert response.status_code in (200, 400), response.text
        return response.status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        codes = list(pool.map(move, range(PARALLEL)))

    rows = {
        (row.location, row.terminal_id): row.current_stock
        for row in Inventory.objects.filter(owner=owner_tenant.owner, item_name="Кофе")
    }
    stand_left = rows[("stand", terminal.pk)]
    moved_out = InventoryChange.objects.filter(source="transfer_out").count()
    moved_in = InventoryChange.objects.filter(source="transfer_in").count()
    assert codes.count(200) == moved_out == moved_in
    assert stand_left >= 0
    # nothing created or lost: every gram that left the stand arrived somewhere
    other_stand = rows.get(("stand", other.pk), Decimal(0))
    assert stand_left + rows[("warehouse", None)] + other_stand == Decimal(2000 + 20000)
    assert stand_left == Decimal(2000) - 300 * codes.count(200)
    assert codes.count(200) == 6  # 2,000 g / 300 g, whichever requests won the locks
