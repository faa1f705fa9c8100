"""The staff admin over the coffee models: pages render, actions act, secrets stay hidden."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from tenancy.models import Owner
from vendista import crypto
from vendista.models import ImportRun, PaymentStatus, VendistaAccount

pytestmark = pytest.mark.django_db

MODELS = [
    "vendista/vendistaaccount",
    "vendista/terminal",
    "vendista/transaction",
    "vendista/importrun",
    "inventory/inventory",
    "inventory/inventorychange",
    "inventory/recipe",
    "inventory/recipepreset",
    "tasks_app/task",
    "tasks_app/terminalassignment",
]


@pytest.fixture
def staff_client() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", MODELS)
def test_changelist_and_add_pages_render(staff_client: Client, model: str) -> None:
    app, name = model.split("/")
    assert staff_client.get(reverse(f"admin:{app}_{name}_changelist")).status_code == 200


def test_global_presets_are_seeded(staff_client: Client, global_presets: None) -> None:
    response = staff_client.get(reverse("admin:inventory_recipepreset_changelist"))
    assert "Капучино (250 мл)" in response.content.decode()


def test_credentials_typed_in_the_admin_are_stored_encrypted(staff_client: Client) -> None:
    owner = Owner.objects.create(name="Кофе")
    response = staff_client.post(
        reverse("admin:vendista_vendistaaccount_add"),
        {
            "owner": owner.pk,
            "setup_date": "2026-01-01",
            "tax_system": "income_6",
            "acquiring_percent": "1.6",
            "imports_enabled": "on",
            "vendista_login": "shop@vendista",
            "vendista_password": "s3cret-pass",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    account = VendistaAccount.objects.get(owner=owner)
    assert "s3cret-pass" not in account.password_encrypted
    assert crypto.decrypt(account.password_encrypted) == "s3cret-pass"
    assert crypto.decrypt(account.login_encrypted) == "shop@vendista"
    page = staff_client.get(reverse("admin:vendista_vendistaaccount_change", args=[account.pk]))
    assert "s3cret-pass" not in page.content.decode()


def test_actions_queue_runs_and_reset_the_payment_status(staff_client: Client) -> None:
    owner = Owner.objects.create(name="Кофе")
    account = VendistaAccount.objects.create(
        owner=owner, payment_status=PaymentStatus.PAYMENT_REQUIRED
    )
    url = reverse("admin:vendista_vendistaaccount_changelist")

    staff_client.post(url, {"action": "import_now", "_selected_action": [account.pk]})
    staff_client.post(url, {"action": "import_history", "_selected_action": [account.pk]})
    staff_client.post(url, {"action": "reset_payment_status", "_selected_action": [account.pk]})

    runs = ImportRun.objects.filter(owner=owner).order_by("id")
    assert [(run.mode, run.trigger) for run in runs] == [
        ("regular", "admin"),
        ("historical", "admin"),
    ]
    account.refresh_from_db()
    assert account.payment_status == PaymentStatus.ACTIVE
    assert AuditEntry.objects.filter(action="vendista.payment_status_reset").count() == 1
