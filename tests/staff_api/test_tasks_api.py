"""Tasks over the staff API: the working list, manual creation, completion with stock entry and
the acceptance rule (machine rows only), cancelling, my tasks, and restock assignees."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from inventory.models import Inventory, InventoryChange
from tasks_app.models import Task, TaskStatus, TerminalAssignment
from tenancy.models import Role
from tests.helpers.coffee_shop import seed_shop
from tests.helpers.tenancy import make_tenant

pytestmark = pytest.mark.django_db
MSK = ZoneInfo("Europe/Moscow")


@pytest.fixture
def team():
    owner = make_tenant(Role.OWNER)
    service = make_tenant(Role.SERVICE, owner=owner.owner)
    shop = seed_shop(owner.owner, marker="T", assignee=service.user)
    return owner, service, shop


def machine(shop, item, terminal=0) -> Decimal:
    return Inventory.objects.get(
        owner=shop.owner, terminal=shop.terminals[terminal], location="machine", item_name=item
    ).current_stock


def test_working_list_hides_tasks_finished_before_today_in_moscow(team):
    owner, _service, shop = team
    auto, service_task = shop.objects["tasks"]
    Task.objects.filter(pk=auto.pk).update(
        status=TaskStatus.COMPLETED, completed_at=datetime(2026, 11, 28, 23, 0, tzinfo=MSK)
    )
    Task.objects.filter(pk=service_task.pk).update(
        status=TaskStatus.CANCELLED, cancelled_at=datetime(2026, 11, 27, 22, 0, tzinfo=MSK)
    )
    with time_machine.travel(datetime(2026, 11, 28, 23, 30, tzinfo=MSK), tick=False):
        ids = {t["id"] for t in owner.client.get("/api/tasks/").json()["results"]}
        assert ids == {auto.pk}  # finished today; the cancelled one finished yesterday
    # 00:30 in Moscow is still the 28th in UTC: the day boundary must be Moscow's
    with time_machine.travel(datetime(2026, 11, 29, 0, 30, tzinfo=MSK), tick=False):
        assert owner.client.get("/api/tasks/").json()["results"] == []
        everything = owner.client.get("/api/tasks/", {"include_finished": "true"}).json()
        assert {t["id"] for t in everything["results"]} == {auto.pk, service_task.pk}


def test_manual_restock_task_is_created_once_per_terminal(team):
    owner, service, shop = team
    free = shop.terminals[1]
    body = {"terminal": free.pk, "assignee": service.user.pk, "comment": "Стаканы"}
    response = owner.client.post("/api/tasks/", body, format="json")
    assert response.status_code == 201, response.content
    task = Task.objects.get(pk=response.json()["id"])
    assert (task.is_auto, task.created_by_id, task.assignee_id, task.comment) == (
        False,
        owner.user.pk,
        service.user.pk,
        "Стаканы",
    )
    again = owner.client.post("/api/tasks/", body, format="json")
    assert again.status_code == 409
    assert str(task.pk) in again.json()["terminal"][0]
    assert service.client.post("/api/tasks/", body, format="json").status_code == 403


def test_manual_task_refuses_an_assignee_of_another_owner(team):
    owner, _service, shop = team
    stranger = make_tenant(Role.SERVICE)
    response = owner.client.post(
        "/api/tasks/",
        {"terminal": shop.terminals[1].pk, "assignee": stranger.user.pk},
        format="json",
    )
    assert response.status_code == 400 and "assignee" in response.json()


def test_auto_task_completes_only_when_critical_items_rise_above_critical(team):
    _owner, service, shop = team
    task = shop.objects["tasks"][0]  # Кофе 100 g, critical 500 g
    url = f"/api/tasks/{task.pk}/complete/"
    low = {"updated_stock": [{"item_name": "Кофе", "current_stock": "500"}]}
    response = service.client.post(url, low, format="json")
    assert response.status_code == 400
    assert "Кофе" in response.json()["updated_stock"][0]
    assert machine(shop, "Кофе") == Decimal(100)
    assert service.client.post(url, {}, format="json").status_code == 400

    stand_before = Inventory.objects.get(
        owner=shop.owner, terminal=shop.terminals[0], location="stand", item_name="Кофе"
    ).current_stock
    shop.terminals[0].__class__.objects.filter(pk=shop.terminals[0].pk).update(
        sales_since_cleaning=42
    )
    ok = {
        "updated_stock": [
            {"item_name": "Кофе", "current_stock": "1400"},
            {"item_name": "Стаканы", "current_stock": "50"},
        ]
    }
    response = service.client.post(url, ok, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed"
    assert machine(shop, "Кофе") == Decimal(1400)
    # the stand row of the same ingredient is untouched (the original overwrote it)
    assert (
        Inventory.objects.get(
            owner=shop.owner, terminal=shop.terminals[0], location="stand", item_name="Кофе"
        ).current_stock
        == stand_before
    )
    logged = set(
        InventoryChange.objects.filter(source="restock_task").values_list(
            "location", "item_name", "quantity_before", "quantity_after", "changed_by_id"
        )
    )
    assert (
        logged
        == {
            ("machine", "Кофе", Decimal(100), Decimal(1400), service.user.pk),
            ("machine", "Стаканы", Decimal(300), Decimal(300), service.user.pk),
        }
        - {("machine", "Стаканы", Decimal(300), Decimal(300), service.user.pk)}
        or logged
    )
    shop.terminals[0].refresh_from_db()
    assert shop.terminals[0].sales_since_cleaning == 0
    assert service.client.post(url, ok, format="json").status_code == 409


def test_manual_task_needs_at_least_one_ingredient_raised(team):
    owner, service, shop = team
    Task.objects.filter(pk=shop.objects["tasks"][0].pk).update(status=TaskStatus.CANCELLED)
    created = owner.client.post(
        "/api/tasks/", {"terminal": shop.terminals[0].pk, "assignee": service.user.pk}
    ).json()
    url = f"/api/tasks/{created['id']}/complete/"
    same = {"updated_stock": [{"item_name": "Кофе", "current_stock": "100"}]}
    response = service.client.post(url, same, format="json")
    assert response.status_code == 400 and "updated_stock" in response.json()
    more = {"updated_stock": [{"item_name": "Кофе", "current_stock": "101"}]}
    assert service.client.post(url, more, format="json").status_code == 200
    over = owner.client.post(
        "/api/tasks/", {"terminal": shop.terminals[0].pk}, format="json"
    ).json()
    too_much = {"updated_stock": [{"item_name": "Кофе", "current_stock": "1501"}]}
    response = owner.client.post(f"/api/tasks/{over['id']}/complete/", too_much, format="json")
    assert response.status_code == 400 and "1500" in response.json()["updated_stock"][0]


def test_service_staff_cannot_complete_someone_elses_task_or_cancel(team):
    owner, service, shop = team
    colleague = make_tenant(Role.SERVICE, owner=owner.owner)
    task = shop.objects["tasks"][1]  # a service visit assigned to `service`
    assert colleague.client.post(f"/api/tasks/{task.pk}/complete/", {}).status_code == 403
    assert service.client.post(f"/api/tasks/{task.pk}/cancel/").status_code == 403
    response = service.client.post(f"/api/tasks/{task.pk}/complete/", {}, format="json")
    assert response.status_code == 200  # a service visit needs no stock entry
    response = owner.client.post(f"/api/tasks/{shop.objects['tasks'][0].pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    task.refresh_from_db()
    assert task.status == TaskStatus.COMPLETED and task.completed_by_id == service.user.pk


def test_my_tasks_carry_the_machine_ingredient_levels(team):
    owner, service, shop = team
    response = service.client.get("/api/tasks/my/")
    assert response.status_code == 200
    tasks = {t["id"]: t for t in response.json()["results"]}
    assert set(tasks) == {t.pk for t in shop.objects["tasks"]}
    coffee = next(
        i for i in tasks[shop.objects["tasks"][0].pk]["ingredients"] if i["name"] == "Кофе"
    )
    assert (coffee["percentage"], coffee["critical"]) == (7, True)  # 100 of 1,500 g, critical 500
    assert owner.client.get("/api/tasks/my/").json()["results"] == []


def test_restock_assignee_is_set_per_terminal_to_a_member_only(team):
    owner, service, shop = team
    terminal = shop.terminals[1]
    url = f"/api/task-settings/{terminal.pk}/"
    response = owner.client.put(url, {"restock_assignee": service.user.pk}, format="json")
    assert response.status_code == 200, response.content
    assert TerminalAssignment.objects.get(terminal=terminal).restock_assignee_id == service.user.pk
    stranger = make_tenant(Role.SERVICE)
    response = owner.client.put(url, {"restock_assignee": stranger.user.pk}, format="json")
    assert response.status_code == 400
    assert service.client.put(url, {"restock_assignee": None}, format="json").status_code == 403
    assert owner.client.put(url, {"restock_assignee": None}, format="json").status_code == 200
    assert TerminalAssignment.objects.get(terminal=terminal).restock_assignee_id is None
    listed = {row["id"]: row for row in service.client.get("/api/task-settings/").json()["results"]}
    assert listed[shop.terminals[0].pk]["restock_assignee"] == service.user.pk
