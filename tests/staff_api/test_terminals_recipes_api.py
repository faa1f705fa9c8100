"""Terminals (stock summary, configuration flags, containers, machine items) and recipes and
presets over the staff API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import Inventory, Recipe, RecipePreset
from tenancy.models import Role
from tests.helpers.coffee_shop import seed_shop
from tests.helpers.tenancy import make_tenant
from vendista.models import Terminal

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    tenant = make_tenant(Role.OWNER)
    return tenant, seed_shop(tenant.owner, marker="R")


def test_terminal_list_shows_stock_summary_and_configuration_flags(shop):
    tenant, data = shop
    bare = Terminal.objects.create(owner=tenant.owner, vendista_id=1, name="Я без контейнеров")
    response = tenant.client.get("/api/terminals/")
    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()["results"]}
    first = rows[data.terminals[0].pk]
    # grams: Кофе at 100 of 1,500 is the lowest of the gram containers; the rest are half full
    assert first["stock_summary"] == {"liquids": 50, "grams": 7, "pieces": 50}
    assert first["needs_containers_config"] is False
    assert first["recipes_missing"] == [{"machine_item_id": 7, "sales": 1}]
    assert first["open_restock_task"] == data.objects["tasks"][0].pk
    coffee = next(r for r in first["machine_inventory"] if r["item_name"] == "Кофе")
    assert (coffee["percentage"], coffee["is_critical"]) == (7, True)
    assert rows[data.terminals[1].pk]["recipes_missing"] == []
    assert rows[bare.pk]["needs_containers_config"] is True
    assert rows[bare.pk]["stock_summary"] == {"liquids": None, "grams": None, "pieces": None}
    Inventory.objects.filter(terminal=data.terminals[1], item_name="Сахар").update(max_stock=None)
    detail = tenant.client.get(f"/api/terminals/{data.terminals[1].pk}/").json()
    assert detail["needs_containers_config"] is True
    assert tenant.client.get("/api/terminals/", {"is_online": "true"}).json()["count"] == 1


def test_container_settings_are_validated_and_leave_stock_alone(shop):
    tenant, data = shop
    terminal = data.terminals[0]
    url = f"/api/terminals/{terminal.pk}/containers/"
    bad = {
        "containers": [
            {
                "item_name": "Кофе",
                "location": "machine",
                "max_stock": "100",
                "critical_stock": "200",
            }
        ]
    }
    response = tenant.client.put(url, bad, format="json")
    assert response.status_code == 400
    errors = response.json()["containers"]  # DRF keys a list's errors by position
    assert "critical_stock" in (errors[0] if isinstance(errors, list) else errors["0"])
    good = {
        "containers": [
            {
                "item_name": "Кофе",
                "location": "machine",
                "max_stock": "2000",
                "critical_stock": "600",
            },
            {"item_name": "Кофе", "location": "stand", "max_stock": "5000", "critical_stock": None},
            {
                "item_name": "Матча",
                "location": "machine",
                "max_stock": "300",
                "critical_stock": "50",
            },
        ]
    }
    response = tenant.client.put(url, good, format="json")
    assert response.status_code == 200, response.content
    row = Inventory.objects.get(terminal=terminal, location="machine", item_name="Кофе")
    assert (row.max_stock, row.critical_stock, row.current_stock) == (
        Decimal(2000),
        Decimal(600),
        Decimal(100),
    )
    assert Inventory.objects.get(terminal=terminal, item_name="Матча").current_stock == 0
    listed = {(r["location"], r["item_name"]) for r in tenant.client.get(url).json()}
    assert ("stand", "Кофе") in listed and ("machine", "Матча") in listed
    service = make_tenant(Role.SERVICE, owner=tenant.owner)
    assert service.client.get(url).status_code == 200
    assert service.client.put(url, good, format="json").status_code == 403


def test_copying_containers_copies_capacity_and_thresholds_only(shop):
    tenant, data = shop
    source, target = data.terminals
    Inventory.objects.filter(terminal=source, location="machine", item_name="Вода").update(
        max_stock=Decimal(19000), critical_stock=Decimal(4000)
    )
    before = Inventory.objects.get(terminal=target, location="machine", item_name="Вода")
    other = seed_shop(make_tenant().owner, marker="X")
    response = tenant.client.post(
        f"/api/terminals/{source.pk}/copy-containers/",
        {"destinations": [other.terminals[0].pk]},
        format="json",
    )
    assert response.status_code == 400 and "destinations" in response.json()
    response = tenant.client.post(
        f"/api/terminals/{source.pk}/copy-containers/", {"destinations": [target.pk]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["rows_written"] == 13
    after = Inventory.objects.get(terminal=target, location="machine", item_name="Вода")
    assert (after.max_stock, after.critical_stock) == (Decimal(19000), Decimal(4000))
    assert after.current_stock == before.current_stock


def test_machine_items_seen_in_sales_name_their_recipes(shop):
    tenant, data = shop
    response = tenant.client.get(f"/api/terminals/{data.terminals[0].pk}/machine-items/")
    assert response.status_code == 200
    items = {row["machine_item_id"]: row for row in response.json()}
    assert set(items) == {1, 2, 7}
    assert items[1]["recipe_name"] == "R напиток 1" and items[1]["needs_recipe"] == 0
    assert items[7]["recipe_id"] is None and items[7]["needs_recipe"] == 1


def test_recipe_create_update_hide_and_duplicate(shop):
    tenant, data = shop
    terminal = data.terminals[0]
    body = {
        "terminal": terminal.pk,
        "machine_item_id": 7,
        "items": [
            {"item_name": "Кофе", "quantity": "12"},
            {"item_name": "Сироп 1", "quantity": "0"},
        ],
        "save_as_preset": True,
    }
    response = tenant.client.post("/api/recipes/", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["name"] == "Drink #7" or created["name"] == "Напиток #7"
    assert created["items"] == [{"item_name": "Кофе", "quantity": "12.000"}]
    assert RecipePreset.objects.filter(owner=tenant.owner, name__endswith=f"({terminal})").exists()
    assert tenant.client.post("/api/recipes/", body, format="json").status_code == 400
    url = f"/api/recipes/{created['id']}/"
    response = tenant.client.patch(url, {"is_hidden": True, "name": "Эспрессо"}, format="json")
    assert response.status_code == 200
    recipe = Recipe.objects.get(pk=created["id"])
    assert (recipe.is_hidden, recipe.name, recipe.items.count()) == (True, "Эспрессо", 1)
    response = tenant.client.patch(
        url, {"items": [{"item_name": "Вода", "quantity": "30"}]}, format="json"
    )
    assert [(i.item_name, i.quantity) for i in recipe.items.all()] == [("Вода", Decimal(30))]
    assert tenant.client.patch(url, {"machine_item_id": 8}, format="json").status_code == 400
    duplicate = {
        "items": [{"item_name": "Вода", "quantity": "1"}, {"item_name": "Вода", "quantity": "2"}]
    }
    assert tenant.client.patch(url, duplicate, format="json").status_code == 400
    service = make_tenant(Role.SERVICE, owner=tenant.owner)
    assert service.client.get(url).status_code == 200
    assert service.client.patch(url, {"is_hidden": False}, format="json").status_code == 403


def test_copying_recipes_replaces_ingredients_by_machine_item(shop):
    tenant, data = shop
    source, target = data.terminals
    Recipe.objects.get(terminal=target, machine_item_id=1).items.all().delete()
    response = tenant.client.post(
        "/api/recipes/copy/",
        {"source_terminal": source.pk, "destination_terminals": [target.pk]},
        format="json",
    )
    assert response.status_code == 200 and response.json() == {"recipes_written": 2}
    copied = Recipe.objects.get(terminal=target, machine_item_id=1)
    assert {(i.item_name, i.quantity) for i in copied.items.all()} == {
        ("Кофе", Decimal(9)),
        ("Вода", Decimal(150)),
        ("Стаканы", Decimal(1)),
    }


def test_presets_list_global_and_own_and_only_own_can_change(shop, global_presets):
    tenant, _data = shop
    other = seed_shop(make_tenant().owner, marker="Чужой")
    response = tenant.client.get("/api/recipe-presets/", {"page_size": 100})
    names = [row["name"] for row in response.json()["results"]]
    assert len(names) == 22 and "R пресет" in names and "Чужой пресет" not in names
    global_id = RecipePreset.objects.filter(owner=None).values_list("pk", flat=True)[0]
    assert tenant.client.delete(f"/api/recipe-presets/{global_id}/").status_code == 404
    other_id = other.objects["presets"][0].pk
    assert tenant.client.delete(f"/api/recipe-presets/{other_id}/").status_code == 404
    response = tenant.client.post(
        "/api/recipe-presets/",
        {"name": "Мой латте", "items": [{"item_name": "Кофе", "quantity": "9"}]},
        format="json",
    )
    assert response.status_code == 201 and response.json()["is_global"] is False
    own = RecipePreset.objects.get(owner=tenant.owner, name="Мой латте")
    assert tenant.client.delete(f"/api/recipe-presets/{own.pk}/").status_code == 204
    assert RecipePreset.objects.filter(owner=None).count() == 21


def test_renaming_a_preset_keeps_its_id_and_refuses_a_taken_name(shop):
    tenant, _data = shop
    own = RecipePreset.objects.get(owner=tenant.owner, name="R пресет")
    url = f"/api/recipe-presets/{own.pk}/"
    response = tenant.client.patch(url, {"name": "Флэт уайт"}, format="json")
    assert response.status_code == 200 and response.json()["id"] == own.pk
    own.refresh_from_db()
    assert own.name == "Флэт уайт" and own.items[0]["item_name"] == "Кофе"
    RecipePreset.objects.create(owner=tenant.owner, name="Раф", items=[])
    response = tenant.client.patch(url, {"name": "Раф"}, format="json")
    assert response.status_code == 400 and "name" in response.json()


def test_patching_task_settings_without_the_assignee_changes_nothing(shop):
    tenant, data = shop
    colleague = make_tenant(Role.SERVICE, owner=tenant.owner)
    url = f"/api/task-settings/{data.terminals[0].pk}/"
    assert (
        tenant.client.patch(url, {"restock_assignee": colleague.user.pk}, format="json").status_code
        == 200
    )
    assert tenant.client.patch(url, {}, format="json").status_code == 200
    assert tenant.client.get(url).json()["restock_assignee"] == colleague.user.pk
