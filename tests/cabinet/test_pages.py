"""The cabinet's pages beyond the walk: who may sign in, the owner switcher, `/`, Russian API
errors, recipe coverage and "apply preset", stock moves and exports."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from openpyxl import load_workbook

from inventory.models import ChangeSource, InventoryChange, Recipe, RecipePreset
from tenancy.cabinet.scope import SESSION_KEY
from tenancy.models import Membership, Owner, Role
from tests.helpers.coffee_shop import seed_shop
from tests.helpers.tenancy import make_tenant
from vendista.models import DeductionState, Transaction

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_root_redirects_to_the_admin(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_a_member_signs_in_at_the_admin_and_a_stranger_does_not(client: Client) -> None:
    tenant = make_tenant(Role.SERVICE)
    tenant.user.set_password("pw-service-2026")
    tenant.user.save()
    stranger = get_user_model().objects.create_user("nobody", password="pw-nobody-2026")
    ok = client.post(
        "/admin/login/", {"username": tenant.user.username, "password": "pw-service-2026"}
    )
    assert ok.status_code == 302
    refused = Client().post(
        "/admin/login/", {"username": stranger.username, "password": "pw-nobody-2026"}
    )
    assert refused.status_code == 200 and "_auth_user_id" not in refused.wsgi_request.session


def test_the_owner_switcher_changes_the_owner_only_to_ones_the_user_belongs_to() -> None:
    first = make_tenant(Role.OWNER)
    seed_shop(first.owner, marker="Первый")
    second = Owner.objects.create(name="Второй владелец")
    seed_shop(second, marker="Второй")
    Membership.objects.create(owner=second, user=first.user, role=Role.SERVICE)
    foreign = Owner.objects.create(name="Чужой")
    seed_shop(foreign, marker="Чужой")
    client = signed_in(first.user)
    assert "Первый терминал 1" in client.get("/admin/vendista/terminal/").content.decode()
    client.post("/admin/owner/", {"owner_id": second.pk})
    page = client.get("/admin/vendista/terminal/").content.decode()
    assert "Второй терминал 1" in page and "Первый терминал 1" not in page
    # As service staff there, the finance pages are closed.
    assert client.get("/admin/vendista/transaction/").status_code == 403
    client.post("/admin/owner/", {"owner_id": foreign.pk})
    assert client.session[SESSION_KEY] == second.pk
    assert "Чужой" not in client.get("/admin/vendista/terminal/").content.decode()


def test_api_errors_are_in_russian() -> None:
    tenant = make_tenant(Role.SERVICE)
    response = tenant.client.get("/api/finance/summary/")
    assert response.status_code == 403
    assert response.json()["detail"] == "Вашей роли это не разрешено."
    kiosk = Client().get("/api/kiosk/me/", HTTP_AUTHORIZATION="Kiosk nope")
    assert "Неверный токен киоска." in kiosk.content.decode()


def test_missing_recipes_count_only_items_still_without_one_and_history_stays() -> None:
    tenant = make_tenant(Role.OWNER)
    shop = seed_shop(tenant.owner, marker="Р")
    terminal = shop.terminals[0]
    client = signed_in(tenant.user)
    url = f"/admin/vendista/terminal/{terminal.pk}/change/"
    assert "machine_item_id=7" in client.get(url).content.decode()
    client.post(
        "/admin/inventory/recipe/add/",
        {
            "terminal": terminal.pk,
            "machine_item_id": 7,
            "name": "Латте",
            "items-TOTAL_FORMS": 1,
            "items-INITIAL_FORMS": 0,
            "items-0-item_name": "Кофе",
            "items-0-quantity": "9",
        },
    )
    recipe = Recipe.objects.get(terminal=terminal, machine_item_id=7)
    assert [(i.item_name, i.quantity) for i in recipe.items.all()] == [("Кофе", Decimal(9))]
    page = client.get(url).content.decode()
    assert "machine_item_id=7" not in page
    assert "У каждого проданного напитка есть рецепт." in page
    # The old sale keeps its state: nothing is deducted backwards.
    assert Transaction.objects.filter(
        terminal=terminal, machine_item_id=7, deduction_state=DeductionState.NEEDS_RECIPE
    ).exists()


def test_apply_preset_replaces_the_ingredients_of_the_selected_recipes() -> None:
    tenant = make_tenant(Role.ADMIN)
    shop = seed_shop(tenant.owner, marker="П")
    preset = RecipePreset.objects.get(owner=tenant.owner)
    recipes = list(Recipe.objects.filter(terminal__owner=tenant.owner)[:2])
    client = signed_in(tenant.user)
    page = client.post(
        "/admin/inventory/recipe/",
        {"action": "apply_preset", "_selected_action": [r.pk for r in recipes]},
    )
    assert page.status_code == 200 and preset.name in page.content.decode()
    client.post(
        "/admin/inventory/recipe/",
        {
            "action": "apply_preset",
            "apply": "1",
            "preset": preset.pk,
            "_selected_action": [r.pk for r in recipes],
        },
    )
    for recipe in recipes:
        items = {i.item_name: i.quantity for i in Recipe.objects.get(pk=recipe.pk).items.all()}
        assert items == {"Кофе": Decimal(9), "Вода": Decimal(120)}
    assert shop.terminals


def test_service_staff_move_stock_but_may_not_adjust_the_warehouse() -> None:
    owner = make_tenant(Role.OWNER)
    shop = seed_shop(owner.owner, marker="С")
    service = make_tenant(Role.SERVICE, owner=owner.owner)
    client = signed_in(service.user)
    terminal = shop.terminals[0]
    assert client.get("/admin/inventory/inventory/adjust/").status_code == 403
    response = client.post(
        "/admin/inventory/inventory/transfer/",
        {
            "source": f"stand:{terminal.pk}",
            "destination": f"machine:{terminal.pk}",
            "item_name": "Стаканы",
            "quantity": "20",
        },
    )
    assert response.status_code == 302
    assert InventoryChange.objects.filter(
        terminal=terminal, source=ChangeSource.TRANSFER_OUT, changed_by=service.user
    ).exists()
    # Too much: the service's own check answers on the form, nothing moves.
    before = InventoryChange.objects.count()
    refused = client.post(
        "/admin/inventory/inventory/transfer/",
        {
            "source": f"stand:{terminal.pk}",
            "destination": f"machine:{terminal.pk}",
            "item_name": "Стаканы",
            "quantity": "999999",
        },
    )
    assert refused.status_code == 200 and InventoryChange.objects.count() == before


def test_exports_are_csv_and_excel_of_the_callers_rows_only() -> None:
    tenant = make_tenant(Role.OWNER)
    seed_shop(tenant.owner, marker="Мои")
    seed_shop(make_tenant().owner, marker="Чужие")
    client = signed_in(tenant.user)
    xlsx = client.get("/admin/tasks_app/task/export/xlsx/")
    assert xlsx.status_code == 200
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.values)
    assert rows[0][0] == "№" and len(rows) == 3  # header + the owner's two tasks
    assert all("Мои" in str(row[4]) for row in rows[1:])
    finance = client.get("/admin/vendista/transaction/finance/csv/").content.decode("utf-8-sig")
    lines = finance.splitlines()
    assert len(lines) == 2 and lines[1].startswith(tenant.owner.name)
    log = client.get("/admin/inventory/inventorychange/export/csv/").content.decode("utf-8-sig")
    assert "Чужие" not in log and log.splitlines()[0].startswith("Время")


def test_the_dashboard_counts_sales_per_terminal_or_per_drink_and_hides_them_from_service() -> None:
    tenant = make_tenant(Role.OWNER)
    shop = seed_shop(tenant.owner, marker="Д")
    seed_shop(make_tenant().owner, marker="Чужие")
    client = signed_in(tenant.user)
    everything = client.get("/admin/")
    assert everything.context["chart"]["total"] == 3  # the owner's three sales, not the other's
    assert everything.context["sales"] is not None
    assert client.get("/admin/?item=1").context["chart"]["total"] == 1
    other_terminal = shop.terminals[1].pk
    assert client.get(f"/admin/?terminal={other_terminal}").context["chart"]["total"] == 0
    cards = {card["terminal"].pk: card for card in everything.context["cards"]}
    assert cards[shop.terminals[0].pk]["missing"] == [7]  # item 7 sold without a recipe
    assert cards[shop.terminals[0].pk]["task"] is not None
    service = make_tenant(Role.SERVICE, owner=tenant.owner)
    page = signed_in(service.user).get("/admin/")
    assert page.context["sales"] is None and page.context["chart"] is None
    assert len(page.context["cards"]) == 2


def test_the_completion_photo_shows_on_the_task_page_for_its_owner_only(settings, tmp_path) -> None:
    from django.core.files.base import ContentFile
    from PIL import Image

    from tasks_app.models import Task

    settings.MEDIA_ROOT = str(tmp_path)
    tenant = make_tenant(Role.SERVICE)
    shop = seed_shop(tenant.owner, marker="Фото")
    task: Task = shop.objects["tasks"][0]
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 30)).save(buffer, "JPEG")
    task.completion_photo.save("after.jpg", ContentFile(buffer.getvalue()))

    client = signed_in(tenant.user)
    page = client.get(f"/admin/tasks_app/task/{task.pk}/change/").content.decode()
    photo_url = f"/admin/tasks_app/task/{task.pk}/photo/"
    assert f'src="{photo_url}"' in page
    answer = client.get(photo_url)
    assert answer.status_code == 200 and answer["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(answer.getvalue())).size == (32, 24)

    stranger = make_tenant(Role.OWNER)
    assert signed_in(stranger.user).get(photo_url).status_code == 404
    assert Client().get(photo_url).status_code == 302  # to the login
