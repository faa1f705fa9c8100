"""Planning in the cabinet: a service worker plans a pick list and prints it, records an audit;
a restock task kitted by a pick list opens its completion form prefilled."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client

from core.clock import moscow_today
from inventory.models import ChangeSource, Inventory, InventoryChange, Location
from planning.models import PickList, StockAudit
from tasks_app.services import attach_pick_list
from tenancy.models import Role
from tests.helpers.coffee_shop import seed_shop
from tests.helpers.tenancy import make_tenant

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_service_worker_plans_prints_and_audits_in_the_cabinet() -> None:
    boss = make_tenant(Role.OWNER)
    worker = make_tenant(Role.SERVICE, owner=boss.owner)
    shop = seed_shop(boss.owner, marker="Кабинет", assignee=worker.user)
    client = signed_in(worker.user)
    terminal = shop.terminals[0]

    added = client.post(
        "/admin/planning/picklist/add/",
        {"day": moscow_today().isoformat(), "terminals": [terminal.pk]},
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    pick_list = PickList.objects.filter(owner=boss.owner).latest("id")
    assert pick_list.route == [terminal.pk]
    # Кофе holds 100 of 1,500 g with no sales history: bring 1,400 g.
    assert pick_list.lines.get(item_name="Кофе").quantity == Decimal(1400)
    pdf = client.get(f"/admin/planning/picklist/{pick_list.pk}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    coffee = Inventory.objects.get(terminal=terminal, location=Location.MACHINE, item_name="Кофе")
    audited = client.post(
        "/admin/planning/stockaudit/add/",
        {"inventory": coffee.pk, "measured_level": "80", "method": "weight", "comment": ""},
    )
    assert audited.status_code == 302, audited.content.decode()[:2000]
    audit = StockAudit.objects.filter(owner=boss.owner).latest("id")
    assert (audit.book_level, audit.measured_level, audit.variance) == (100, 80, -20)
    assert (
        InventoryChange.objects.filter(
            owner=boss.owner, source=ChangeSource.AUDIT, quantity_before=100, quantity_after=80
        ).count()
        == 1
    )

    # The open restock task of the terminal now carries the list: its form starts from it.
    (task_id,) = attach_pick_list(pick_list.pk)
    page = client.get(f"/admin/tasks_app/task/{task_id}/complete/").content.decode()
    field = re.search(r'<input[^>]*name="item:Кофе"[^>]*>', page)
    assert field is not None and 'value="1480' in field.group(0)  # 80 g + 1,400 g


def test_another_owners_member_cannot_print_or_plan_with_the_victims_rows() -> None:
    victim = make_tenant(Role.OWNER)
    shop = seed_shop(victim.owner, marker="Жертва")
    (pick_list,) = shop.objects["pick_lists"]
    stranger = make_tenant(Role.OWNER)
    seed_shop(stranger.owner, marker="Чужак")
    client = signed_in(stranger.user)

    assert client.get(f"/admin/planning/picklist/{pick_list.pk}/pdf/").status_code == 404
    form = client.get("/admin/planning/picklist/add/").content.decode()
    assert "Жертва" not in form and "Чужак" in form
    planned = client.post(
        "/admin/planning/picklist/add/",
        {"day": moscow_today().isoformat(), "terminals": [shop.terminals[0].pk]},
    )
    assert planned.status_code == 200  # the form refuses the foreign terminal
    assert PickList.objects.filter(owner=stranger.owner).count() == 1  # its seeded one only
    coffee = Inventory.objects.get(
        terminal=shop.terminals[0], location=Location.MACHINE, item_name="Кофе"
    )
    audited = client.post(
        "/admin/planning/stockaudit/add/",
        {"inventory": coffee.pk, "measured_level": "0", "method": "eye", "comment": ""},
    )
    assert audited.status_code == 200
    coffee.refresh_from_db()
    assert coffee.current_stock == Decimal(100)
    assert not StockAudit.objects.filter(owner=stranger.owner, inventory=coffee).exists()
