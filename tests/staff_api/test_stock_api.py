"""Stock over the staff API: transfers, warehouse adjustment and stock-up, each logged; bad input
is a 400 naming the field; roles."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import ChangeSource, Inventory, InventoryChange, Location
from tasks_app.models import Task, TaskStatus
from tenancy.models import Role
from tests.helpers.coffee_shop import seed_shop
from tests.helpers.tenancy import make_tenant

pytestmark = pytest.mark.django_db


def stock(owner, location, item, terminal=None) -> Decimal:
    return Inventory.objects.get(
        owner=owner, location=location, item_name=item, terminal=terminal
    ).current_stock


@pytest.fixture
def shop():
    tenant = make_tenant(Role.OWNER)
    return tenant, seed_shop(tenant.owner, marker="A")


def test_transfer_moves_stock_and_logs_both_sides(shop):
    tenant, data = shop
    terminal = data.terminals[1]
    response = tenant.client.post(
        "/api/inventory/transfer/",
        {
            "source": {"location": "warehouse"},
            "destination": {"location": "machine", "terminal": terminal.pk},
            "item_name": "Кофе",
            "quantity": "250.5",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert Decimal(body["source"]["current_stock"]) == Decimal("19749.5")
    assert Decimal(body["destination"]["current_stock"]) == Decimal("1000.5")
    assert stock(tenant.owner, "warehouse", "Кофе") == Decimal("19749.5")
    assert stock(tenant.owner, "machine", "Кофе", terminal) == Decimal("1000.5")
    log = {
        (c.source, c.location, c.terminal_id, c.quantity_before, c.quantity_after, c.changed_by_id)
        for c in InventoryChange.objects.filter(
            owner=tenant.owner, source__in=["transfer_out", "transfer_in"]
        )
    }
    assert log == {
        ("transfer_out", "warehouse", None, Decimal(20000), Decimal("19749.5"), tenant.user.pk),
        ("transfer_in", "machine", terminal.pk, Decimal(750), Decimal("1000.5"), tenant.user.pk),
    }


def test_transfer_of_more_than_the_source_has_is_refused_and_changes_nothing(shop):
    tenant, data = shop
    response = tenant.client.post(
        "/api/inventory/transfer/",
        {
            "source": {"location": "stand", "terminal": data.terminals[0].pk},
            "destination": {"location": "machine", "terminal": data.terminals[0].pk},
            "item_name": "Кофе",
            "quantity": "2000.001",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "quantity" in response.json()
    assert stock(tenant.owner, "stand", "Кофе", data.terminals[0]) == Decimal(2000)
    assert not InventoryChange.objects.filter(source="transfer_out").exists()


def test_transfer_above_the_destination_capacity_is_refused(shop):
    tenant, data = shop
    # the machine's coffee container holds 1,500 g and has 100 g
    response = tenant.client.post(
        "/api/inventory/transfer/",
        {
            "source": {"location": "warehouse"},
            "destination": {"location": "machine", "terminal": data.terminals[0].pk},
            "item_name": "Кофе",
            "quantity": "1401",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "1500" in response.json()["quantity"][0]
    assert stock(tenant.owner, "warehouse", "Кофе") == Decimal(20000)


def test_transfer_to_another_owners_terminal_reads_as_an_unknown_terminal(shop):
    tenant, _data = shop
    other = seed_shop(make_tenant().owner, marker="B")
    response = tenant.client.post(
        "/api/inventory/transfer/",
        {
            "source": {"location": "warehouse"},
            "destination": {"location": "machine", "terminal": other.terminals[0].pk},
            "item_name": "Кофе",
            "quantity": "10",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "terminal" in response.json()["destination"]
    assert stock(other.owner, "machine", "Кофе", other.terminals[0]) == Decimal(100)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"source": {"location": "warehouse"}, "destination": {"location": "warehouse"}},
        {
            "source": {"location": "warehouse", "terminal": 1},
            "destination": {"location": "machine"},
            "item_name": "Кофе",
            "quantity": "1",
        },
        {
            "source": {"location": "cellar"},
            "destination": {"location": "warehouse"},
            "item_name": "Кофе",
            "quantity": "-1",
        },
        {
            "source": {"location": "warehouse"},
            "destination": {"location": "warehouse"},
            "item_name": "Кофе",
            "quantity": "1",
        },
        {
            "source": {"location": "warehouse"},
            "destination": {"location": "machine", "terminal": "x"},
            "item_name": "",
            "quantity": "1e400",
        },
    ],
)
def test_bad_transfer_input_is_a_400_naming_fields(shop, body):
    tenant, _data = shop
    response = tenant.client.post("/api/inventory/transfer/", body, format="json")
    assert response.status_code == 400, response.content
    assert isinstance(response.json(), dict) and response.json()


def test_moving_stock_into_the_machine_completes_the_auto_task_when_nothing_is_critical(shop):
    tenant, data = shop
    task = data.objects["tasks"][0]  # automatic: Кофе critical (100 g, critical 500)
    response = tenant.client.post(
        "/api/inventory/transfer/",
        {
            "source": {"location": "stand", "terminal": data.terminals[0].pk},
            "destination": {"location": "machine", "terminal": data.terminals[0].pk},
            "item_name": "Кофе",
            "quantity": "300",
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["closed_task_ids"] == []  # 400 g is still at or below 500 g
    task.refresh_from_db()
    assert task.status == TaskStatus.PENDING
    response = tenant.client.post(
        "/api/inventory/transfer/",
        {
            "source": {"location": "stand", "terminal": data.terminals[0].pk},
            "destination": {"location": "machine", "terminal": data.terminals[0].pk},
            "item_name": "Кофе",
            "quantity": "1000",
        },
        format="json",
    )
    assert response.json()["closed_task_ids"] == [task.pk]
    task.refresh_from_db()
    assert task.status == TaskStatus.COMPLETED and task.completed_by_id == tenant.user.pk


def test_warehouse_adjustment_adds_writes_off_and_never_goes_negative(shop):
    tenant, _data = shop
    url = "/api/inventory/warehouse/adjust/"
    response = tenant.client.post(url, {"item_name": "Кофе", "quantity": "-500"}, format="json")
    assert response.status_code == 200
    assert Decimal(response.json()["current_stock"]) == Decimal(19500)
    response = tenant.client.post(url, {"item_name": "Кофе", "quantity": "-19500.001"})
    assert response.status_code == 400 and "quantity" in response.json()
    response = tenant.client.post(url, {"item_name": "Сахар", "quantity": "-1"})
    assert response.status_code == 400 and "item_name" in response.json()
    response = tenant.client.post(url, {"item_name": "Сахар", "quantity": "300"})
    assert response.status_code == 200
    assert stock(tenant.owner, "warehouse", "Сахар") == Decimal(300)
    assert tenant.client.post(url, {"item_name": "Сахар", "quantity": "0"}).status_code == 400
    changes = list(
        InventoryChange.objects.filter(source=ChangeSource.WAREHOUSE_ADJUST, changed_by=tenant.user)
        .order_by("id")
        .values_list("item_name", "quantity_before", "quantity_after")
    )
    assert changes == [
        ("Кофе", Decimal(20000), Decimal(19500)),
        ("Сахар", Decimal(0), Decimal(300)),
    ]


def test_stock_up_adds_a_delivery_without_duplicating_warehouse_rows(shop):
    tenant, _data = shop
    url = "/api/inventory/warehouse/stock-up/"
    body = {
        "items": [
            {"item_name": "Кофе", "quantity": "1000"},
            {"item_name": "Крышки", "quantity": "50"},
        ]
    }
    assert tenant.client.post(url, body, format="json").status_code == 201
    assert tenant.client.post(url, body, format="json").status_code == 201
    assert stock(tenant.owner, "warehouse", "Кофе") == Decimal(22000)
    assert stock(tenant.owner, "warehouse", "Крышки") == Decimal(100)
    assert (
        Inventory.objects.filter(
            owner=tenant.owner, location="warehouse", item_name="Крышки"
        ).count()
        == 1
    )
    assert InventoryChange.objects.filter(source="warehouse_stockup").count() == 4
    duplicate = {
        "items": [{"item_name": "Кофе", "quantity": "1"}, {"item_name": "Кофе", "quantity": "2"}]
    }
    response = tenant.client.post(url, duplicate, format="json")
    assert response.status_code == 400 and "items" in response.json()


def test_service_staff_transfer_but_do_not_adjust_the_warehouse(shop):
    tenant, data = shop
    service = make_tenant(Role.SERVICE, owner=tenant.owner)
    response = service.client.post(
        "/api/inventory/transfer/",
        {
            "source": {"location": "stand", "terminal": data.terminals[0].pk},
            "destination": {"location": "machine", "terminal": data.terminals[0].pk},
            "item_name": "Стаканы",
            "quantity": "10",
        },
        format="json",
    )
    assert response.status_code == 200
    response = service.client.post(
        "/api/inventory/warehouse/adjust/", {"item_name": "Кофе", "quantity": "5"}
    )
    assert response.status_code == 403
    assert service.client.get("/api/inventory-changes/").status_code == 403
    assert stock(tenant.owner, "warehouse", "Кофе") == Decimal(20000)


def test_stock_list_filters_by_place_and_critical_level(shop):
    tenant, data = shop
    response = tenant.client.get(
        "/api/inventory/",
        {"location": "machine", "terminal": data.terminals[0].pk, "critical": "true"},
    )
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["item_name"], r["current_stock"]) for r in rows] == [("Кофе", "100.000")]
    response = tenant.client.get("/api/inventory/", {"location": "warehouse"})
    assert {r["item_name"] for r in response.json()["results"]} == {"Кофе", "Стаканы", "Вода"}
    assert tenant.client.get("/api/inventory/", {"location": "attic"}).status_code == 400
    assert Task.objects.count() == 2  # listing changed nothing
    assert Location.WAREHOUSE == "warehouse"


def test_change_log_filters_reject_moments_postgresql_cannot_store(shop):
    tenant, _data = shop
    url = "/api/inventory-changes/"
    assert tenant.client.get(url, {"since": "7732-09-04T13:35:40+19:18"}).status_code == 200
    assert tenant.client.get(url, {"since": "9999-12-31T23:00:00-05:00"}).status_code == 400
    assert tenant.client.get(url, {"since": "yesterday"}).status_code == 400
    rows = tenant.client.get(url, {"since": "2000-01-01T00:00:00+03:00"}).json()["results"]
    assert [(r["source"], r["changed_by"]) for r in rows] == [("warehouse_adjust", None)]


def test_stock_that_would_not_fit_the_column_is_a_400(shop):
    tenant, _data = shop
    url = "/api/inventory/warehouse/adjust/"
    assert (
        tenant.client.post(url, {"item_name": "Кофе", "quantity": "999979999.999"}).status_code
        == 200
    )
    response = tenant.client.post(url, {"item_name": "Кофе", "quantity": "0.001"})
    assert response.status_code == 400 and "quantity" in response.json()
    response = tenant.client.post(
        "/api/inventory/warehouse/stock-up/",
        {"items": [{"item_name": "Кофе", "quantity": "1"}]},
        format="json",
    )
    assert response.status_code == 400 and "items" in response.json()
    assert stock(tenant.owner, "warehouse", "Кофе") == Decimal("999999999.999")
