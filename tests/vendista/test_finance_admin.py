"""The staff admin for expenses and the finance columns of the Vendista models."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tenancy.models import Owner
from tests.vendista.staff import expense, msk, tx
from vendista.models import Expense, ImportRun, VendistaAccount
from vendista.services import accounts

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> tuple[Client, object]:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    client.force_login(user)
    return client, user


def test_expense_pages_render_in_russian(staff: tuple[Client, object]) -> None:
    client, _user = staff
    owner = Owner.objects.create(name="Кофейня")
    row = expense(owner, msk(2026, 11, 5, 10, 0), "1500.00", "Аренда")

    listing = client.get(reverse("admin:vendista_expense_changelist"))
    change = client.get(reverse("admin:vendista_expense_change", args=[row.pk]))

    assert listing.status_code == change.status_code == 200
    assert "Расходы" in listing.content.decode() and "Аренда" in listing.content.decode()
    assert (
        client.get(reverse("admin:vendista_expense_changelist"), {"q": "Аренда"}).status_code == 200
    )


def test_staff_add_an_expense_and_are_recorded_as_its_author(
    staff: tuple[Client, object],
) -> None:
    client, user = staff
    owner = Owner.objects.create(name="Кофейня")
    response = client.post(
        reverse("admin:vendista_expense_add"),
        {
            "owner": owner.pk,
            "amount": "2500.50",
            "comment": "Ремонт кофемолки",
            "spent_at_0": "05.11.2026",
            "spent_at_1": "14:30:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = Expense.objects.get()
    assert stored.created_by == user and stored.amount == Decimal("2500.50")
    assert stored.spent_at == msk(2026, 11, 5, 14, 30)


def test_admin_refuses_a_non_positive_expense(staff: tuple[Client, object]) -> None:
    client, _user = staff
    owner = Owner.objects.create(name="Кофейня")
    response = client.post(
        reverse("admin:vendista_expense_add"),
        {"owner": owner.pk, "amount": "0", "spent_at_0": "05.11.2026", "spent_at_1": "14:30:00"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert not Expense.objects.exists()


def test_connection_list_shows_credentials_presence_but_no_secret(
    staff: tuple[Client, object],
) -> None:
    client, _user = staff
    owner = Owner.objects.create(name="Кофейня")
    account = VendistaAccount.objects.create(owner=owner, tax_system="income_6")
    accounts.set_credentials(account, "login-of-secret", "password-of-secret", "token-of-secret")

    page = client.get(reverse("admin:vendista_vendistaaccount_changelist")).content.decode()

    assert "Учётные данные" in page or "учётные данные" in page
    assert "check_small" in page  # the theme's "yes" mark
    for secret in ("login-of-secret", "password-of-secret", "token-of-secret"):
        assert secret not in page
    account.refresh_from_db()
    assert account.password_encrypted not in page


def test_transactions_and_runs_are_read_only_and_searchable(staff: tuple[Client, object]) -> None:
    client, _user = staff
    owner = Owner.objects.create(name="Кофейня")
    row = tx(owner, msk(2026, 11, 5, 10, 0), 15_000)
    run = ImportRun.objects.create(owner=owner, kind="import", trigger="t", error="HTTP 502")

    found = client.get(reverse("admin:vendista_transaction_changelist"), {"q": str(row.pk)})
    runs = client.get(reverse("admin:vendista_importrun_changelist"), {"q": "502"})
    change = client.post(
        reverse("admin:vendista_transaction_change", args=[row.pk]), {"amount": "1"}
    )

    assert found.status_code == runs.status_code == 200
    assert "150.00" in found.content.decode()
    assert f">{run.pk}<" in runs.content.decode()
    assert change.status_code in (302, 403)
    row.refresh_from_db()
    assert row.amount == 15_000
