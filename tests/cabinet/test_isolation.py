"""Every registered ModelAdmin, walked as another owner's owner, admin and service user: nothing
of the victim's is visible or changeable; the same walk catches an admin left unscoped."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client

from payments.models import FiscalSettings, ServicePrice
from tenancy.models import Owner, Role
from tests.cabinet.leaky_urls import leaky_site
from tests.cabinet.walk import walk
from tests.helpers.coffee_shop import seed_shop
from tests.helpers.kiosk import make_kiosk
from tests.helpers.tenancy import make_tenant

pytestmark = pytest.mark.django_db

MARKER = "Жертва"


@pytest.fixture
def victim() -> Owner:
    owner = Owner.objects.create(name=f"{MARKER} ООО")
    seed_shop(owner, marker=MARKER)
    make_tenant(Role.OWNER, owner=owner)
    # The kiosk side too: a kiosk, its price list and the owner's receipt settings.
    kiosk = make_kiosk(owner).kiosk
    kiosk.name = f"{MARKER} киоск"
    kiosk.save(update_fields=["name"])
    ServicePrice.objects.create(
        owner=owner, kiosk=kiosk, service_type="thickness", amount=45_000, description=MARKER
    )
    ServicePrice.objects.create(owner=owner, service_type="diagnostics", amount=90_000)
    FiscalSettings.objects.create(owner=owner)
    return owner


def member_client(role: str) -> Client:
    tenant = make_tenant(role)
    seed_shop(tenant.owner, marker="Свои")
    client = Client()
    client.force_login(tenant.user)
    return client


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.SERVICE])
def test_no_admin_shows_or_changes_another_owners_rows(victim: Owner, role: str) -> None:
    client = member_client(role)
    problems = walk(admin.site, client, owner_id=victim.pk, marker=MARKER)
    assert not problems, "\n".join(problems)
    # Not vacuous: the member does see their own terminals and tasks.
    assert "Свои терминал 1" in client.get("/admin/vendista/terminal/").content.decode()
    assert client.get("/admin/tasks_app/task/").status_code == 200


@pytest.mark.urls("tests.cabinet.leaky_urls")
def test_the_walk_catches_an_admin_left_unscoped(victim: Owner) -> None:
    client = member_client(Role.SERVICE)
    problems = walk(leaky_site, client, owner_id=victim.pk, marker=MARKER)
    assert any("vendista/terminal" in problem for problem in problems), problems
