"""`/api/expenses/`: CRUD for owners and admins, amounts in rubles > 0, Moscow local times."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from tenancy.models import Owner, Role
from tests.helpers.tenancy import assert_owner_isolation, make_tenant
from tests.vendista.staff import expense, msk
from vendista.models import Expense

pytestmark = pytest.mark.django_db

URL = "/api/expenses/"


def test_expenses_are_isolated_between_owners() -> None:
    assert_owner_isolation(
        list_url=URL, make_row=lambda owner: expense(owner, msk(2026, 11, 5, 10, 0), "100.00")
    )


def test_owner_records_an_expense_in_moscow_local_time() -> None:
    tenant = make_tenant(Role.OWNER)

    response = tenant.client.post(
        URL,
        {"amount": "15000.50", "comment": "Аренда", "spent_at": "2026-11-05T14:30"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount"] == "15000.50" and body["comment"] == "Аренда"
    assert body["spent_at"] == "2026-11-05T14:30:00+03:00"
    assert body["created_by"] == tenant.user.username
    stored = Expense.objects.get(pk=body["id"])
    assert stored.owner == tenant.owner and stored.created_by == tenant.user
    assert stored.spent_at == msk(2026, 11, 5, 14, 30)
    assert stored.amount == Decimal("15000.50")


def test_a_date_alone_is_the_start_of_that_moscow_day_and_offsets_are_kept() -> None:
    tenant = make_tenant(Role.OWNER)
    day = tenant.client.post(URL, {"amount": "1", "spent_at": "2026-11-05"}, format="json")
    utc = tenant.client.post(
        URL, {"amount": "1", "spent_at": "2026-11-05T21:30:00Z"}, format="json"
    )
    assert day.status_code == utc.status_code == 201, (day.content, utc.content)
    assert day.json()["spent_at"] == "2026-11-05T00:00:00+03:00"
    assert utc.json()["spent_at"] == "2026-11-06T00:30:00+03:00"


def test_admin_edits_and_deletes_service_is_refused() -> None:
    owner = make_tenant(Role.OWNER)
    admin = make_tenant(Role.ADMIN, owner=owner.owner)
    service = make_tenant(Role.SERVICE, owner=owner.owner)
    row = expense(owner.owner, msk(2026, 11, 5, 10, 0), "100.00")
    detail = f"{URL}{row.pk}/"

    assert service.client.get(URL).status_code == 403
    assert service.client.post(URL, {"amount": "1", "spent_at": "2026-11-05"}).status_code == 403
    assert service.client.delete(detail).status_code == 403
    assert admin.client.patch(detail, {"amount": "250.75"}, format="json").json()["amount"] == (
        "250.75"
    )
    put = admin.client.put(
        detail, {"amount": "99", "comment": "Ремонт", "spent_at": "2026-11-06T09:00"}, format="json"
    )
    assert put.status_code == 200 and put.json()["comment"] == "Ремонт"
    assert admin.client.delete(detail).status_code == 204
    assert not Expense.objects.filter(pk=row.pk).exists()


def test_another_owners_expense_cannot_be_changed_or_deleted() -> None:
    mine = make_tenant(Role.OWNER)
    theirs = expense(Owner.objects.create(name="Чужие"), msk(2026, 11, 5, 10, 0), "100.00")
    detail = f"{URL}{theirs.pk}/"
    assert mine.client.patch(detail, {"amount": "1"}, format="json").status_code == 404
    assert mine.client.delete(detail).status_code == 404
    theirs.refresh_from_db()
    assert theirs.amount == Decimal("100.00")


def test_a_new_expense_always_belongs_to_the_acting_owner() -> None:
    tenant = make_tenant(Role.OWNER)
    other = Owner.objects.create(name="Чужие")
    response = tenant.client.post(
        URL, {"amount": "5", "spent_at": "2026-11-05", "owner": other.pk}, format="json"
    )
    assert response.status_code == 201
    assert Expense.objects.get(pk=response.json()["id"]).owner == tenant.owner


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"amount": "0", "spent_at": "2026-11-05"}, "amount"),
        ({"amount": "-10", "spent_at": "2026-11-05"}, "amount"),
        ({"amount": "1.001", "spent_at": "2026-11-05"}, "amount"),
        ({"amount": "1e20", "spent_at": "2026-11-05"}, "amount"),
        ({"amount": "NaN", "spent_at": "2026-11-05"}, "amount"),
        ({"amount": "ten", "spent_at": "2026-11-05"}, "amount"),
        ({"spent_at": "2026-11-05"}, "amount"),
        ({"amount": "10"}, "spent_at"),
        ({"amount": "10", "spent_at": "05.11.2026 кое-когда"}, "spent_at"),
        ({"amount": "10", "spent_at": "0001-01-01T00:00"}, "spent_at"),
        ({"amount": "10", "spent_at": "9999-12-31T23:59"}, "spent_at"),
        ({"amount": "10", "spent_at": "2026-11-05", "comment": "x" * 1001}, "comment"),
    ],
)
def test_bad_expenses_answer_400_with_the_field(payload: dict[str, str], field: str) -> None:
    tenant = make_tenant(Role.OWNER)
    response = tenant.client.post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Expense.objects.exists()


@pytest.mark.parametrize(
    "params", [{"date_from": "2026-11-31"}, {"date_to": "someday"}, {"date_to": ""}]
)
def test_bad_list_filters_answer_400(params: dict[str, str]) -> None:
    assert make_tenant(Role.OWNER).client.get(URL, params).status_code == 400


def test_list_filters_by_moscow_day_latest_first() -> None:
    tenant = make_tenant(Role.OWNER)
    before = expense(tenant.owner, msk(2026, 10, 31, 23, 59), "1")
    first = expense(tenant.owner, msk(2026, 11, 1, 0, 0), "2")
    last = expense(tenant.owner, msk(2026, 11, 30, 23, 59), "3")
    after = expense(tenant.owner, msk(2026, 12, 1, 0, 0), "4")
    rows = tenant.client.get(URL, {"date_from": "2026-11-01", "date_to": "2026-11-30"}).json()
    assert [row["id"] for row in rows["results"]] == [last.pk, first.pk]
    everything = tenant.client.get(URL).json()["results"]
    assert [row["id"] for row in everything] == [after.pk, last.pk, first.pk, before.pk]


def test_bodies_are_json_only() -> None:
    # A form encoding would read an empty field as "not sent".
    tenant = make_tenant(Role.OWNER)
    response = tenant.client.post(URL, {"amount": "10", "spent_at": "2026-11-05"})
    assert response.status_code == 415
    assert (
        tenant.client.patch(
            "/api/vendista/connection/", {"setup_date": ""}, format="multipart"
        ).status_code
        == 415
    )


def test_the_database_refuses_an_amount_that_is_not_positive() -> None:
    owner = Owner.objects.create(name="Кофе")
    with pytest.raises(IntegrityError), transaction.atomic():
        Expense.objects.create(owner=owner, amount=Decimal(0), spent_at=msk(2026, 11, 1, 0, 0))
