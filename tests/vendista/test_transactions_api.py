"""`/api/transactions/` and `/api/import-runs/`: scoped to the acting owner, filtered by
validated parameters, money in rubles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tenancy.models import Owner, Role
from tests.helpers.tenancy import assert_owner_isolation, make_tenant
from tests.vendista.staff import msk, terminal, tx
from vendista.models import ImportRun, Transaction

pytestmark = pytest.mark.django_db

URL = "/api/transactions/"
RUNS = "/api/import-runs/"


def _ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_transactions_are_isolated_between_owners() -> None:
    assert_owner_isolation(
        list_url=URL,
        make_row=lambda owner: tx(owner, msk(2026, 11, 5, 10, 0), 15_000, terminal=None),
    )


def test_import_runs_are_isolated_between_owners() -> None:
    assert_owner_isolation(
        list_url=RUNS,
        make_row=lambda owner: ImportRun.objects.create(owner=owner, kind="import", trigger="test"),
    )


def test_admin_reads_and_service_is_refused() -> None:
    owner = make_tenant(Role.OWNER)
    row = tx(owner.owner, msk(2026, 11, 5, 10, 0), 15_000)
    admin = make_tenant(Role.ADMIN, owner=owner.owner)
    service = make_tenant(Role.SERVICE, owner=owner.owner)
    assert _ids(admin.client.get(URL)) == [row.pk]
    for url in (URL, f"{URL}{row.pk}/", RUNS):
        assert service.client.get(url).status_code == 403


def test_list_shows_rubles_names_and_whether_it_is_a_sale() -> None:
    tenant = make_tenant(Role.OWNER)
    mall = terminal(tenant.owner, "ТЦ Галерея")
    sale = tx(tenant.owner, msk(2026, 11, 5, 10, 0), 15_050, terminal=mall, item=3)
    gone = tx(tenant.owner, msk(2026, 11, 5, 9, 0), 0, terminal=None, terminal_comment="Старое")
    reversed_ = tx(tenant.owner, msk(2026, 11, 5, 8, 0), 100, reverse_id=5)

    rows = tenant.client.get(URL).json()["results"]

    assert [row["id"] for row in rows] == [sale.pk, gone.pk, reversed_.pk]  # newest first
    assert rows[0]["amount"] == "150.50" and rows[0]["is_sale"] is True
    assert rows[0]["terminal_id"] == mall.pk and rows[0]["terminal_name"] == "ТЦ Галерея"
    assert rows[0]["machine_item_id"] == 3
    assert rows[0]["time"] == "2026-11-05T10:00:00+03:00"
    assert rows[1]["amount"] == "0.00" and rows[1]["is_sale"] is True  # a free drink
    assert rows[1]["terminal_id"] is None and rows[1]["terminal_name"] == "Старое"
    assert rows[2]["is_sale"] is False


def test_a_terminal_of_another_owner_is_never_shown() -> None:
    # The terminal reference is not checked by the database; a bad one must not leak a name.
    tenant = make_tenant(Role.OWNER)
    theirs = terminal(Owner.objects.create(name="Чужие"), "Секретная точка")
    row = tx(tenant.owner, msk(2026, 11, 5, 10, 0), 100, terminal=theirs, terminal_comment="Моя")
    body = tenant.client.get(f"{URL}{row.pk}/").json()
    assert body["terminal_id"] is None and body["terminal_name"] == "Моя"


def test_filters_select_the_rows() -> None:
    tenant = make_tenant(Role.OWNER)
    owner = tenant.owner
    mall, office = terminal(owner, "ТЦ"), terminal(owner, "Офис")
    before = tx(owner, msk(2026, 10, 31, 23, 59, 59), 100, terminal=mall)
    first = tx(owner, msk(2026, 11, 1, 0, 0), 15_000, terminal=mall, item=1)
    failed = tx(owner, msk(2026, 11, 2, 10, 0), 15_000, terminal=office, item=2, result="0")
    free = tx(owner, msk(2026, 11, 3, 10, 0), 0, terminal=office, item=2)
    last = tx(owner, msk(2026, 11, 30, 23, 59, 59), 20_000, terminal=office, item=1)
    after = tx(owner, msk(2026, 12, 1, 0, 0), 100, terminal=mall)
    Transaction.objects.filter(pk=free.pk).update(deduction_state="needs_recipe")
    get = tenant.client.get

    november: dict[str, Any] = {"date_from": "2026-11-01", "date_to": "2026-11-30"}
    assert set(_ids(get(URL, november))) == {first.pk, failed.pk, free.pk, last.pk}
    assert set(_ids(get(URL, {"date_from": "2026-12-01"}))) == {after.pk}
    assert set(_ids(get(URL, {"date_to": "2026-10-31"}))) == {before.pk}
    assert set(_ids(get(URL, {**november, "terminal": office.pk}))) == {
        failed.pk,
        free.pk,
        last.pk,
    }
    assert set(_ids(get(URL, {**november, "machine_item_id": 1}))) == {first.pk, last.pk}
    assert set(_ids(get(URL, {**november, "is_sale": "false"}))) == {failed.pk}
    assert set(_ids(get(URL, {**november, "is_sale": "true"}))) == {first.pk, free.pk, last.pk}
    assert _ids(get(URL, {"deduction_state": "needs_recipe"})) == [free.pk]
    assert set(_ids(get(URL, {"amount_min": "150", "amount_max": "199.99"}))) == {
        first.pk,
        failed.pk,
    }
    assert _ids(get(URL, {**november, "ordering": "amount", "is_sale": "true"})) == [
        free.pk,
        first.pk,
        last.pk,
    ]
    page = get(URL, {"page_size": 2}).json()
    assert page["count"] == 6 and len(page["results"]) == 2 and page["next"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2026-02-30"}, "date_from"),
        ({"date_to": "not-a-date"}, "date_to"),
        ({"date_from": "0001-01-01"}, "date_from"),
        ({"date_to": "9999-12-31"}, "date_to"),
        ({"date_from": "2026-11-02", "date_to": "2026-11-01"}, "date_to"),
        ({"terminal": "abc"}, "terminal"),
        ({"terminal": "0"}, "terminal"),
        ({"terminal": str(10**30)}, "terminal"),
        ({"machine_item_id": "1.5"}, "machine_item_id"),
        ({"machine_item_id": str(2**40)}, "machine_item_id"),
        ({"deduction_state": "eaten"}, "deduction_state"),
        ({"is_sale": "maybe"}, "is_sale"),
        ({"amount_min": "1.234"}, "amount_min"),
        ({"amount_max": "NaN"}, "amount_max"),
        ({"amount_max": "1e400"}, "amount_max"),
        ({"date_from": ""}, "date_from"),
        ({"is_sale": ""}, "is_sale"),
    ],
)
def test_bad_filters_answer_400_with_the_field(params: dict[str, str], field: str) -> None:
    tenant = make_tenant(Role.OWNER)
    response = tenant.client.get(URL, params)
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.parametrize("pk", ["abc", str(2**70), "-1"])
def test_odd_ids_answer_404(pk: str) -> None:
    tenant = make_tenant(Role.OWNER)
    assert tenant.client.get(f"{URL}{pk}/").status_code == 404
    assert tenant.client.get(f"{RUNS}{pk}/").status_code == 404


@pytest.mark.wall_clock
def test_import_runs_filter_by_status_mode_kind_and_day() -> None:
    tenant = make_tenant(Role.OWNER)
    owner = tenant.owner
    done = ImportRun.objects.create(owner=owner, kind="import", trigger="t", status="succeeded")
    history = ImportRun.objects.create(
        owner=owner, kind="import", mode="historical", trigger="t", status="running"
    )
    sync = ImportRun.objects.create(owner=owner, kind="sync", trigger="t", status="failed")
    old = ImportRun.objects.create(owner=owner, kind="import", trigger="t", status="succeeded")
    ImportRun.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    get = tenant.client.get

    assert _ids(get(RUNS)) == [sync.pk, history.pk, done.pk, old.pk]
    assert set(_ids(get(RUNS, {"status": "succeeded"}))) == {done.pk, old.pk}
    assert _ids(get(RUNS, {"mode": "historical"})) == [history.pk]
    assert _ids(get(RUNS, {"kind": "sync"})) == [sync.pk]
    today = timezone.localdate().isoformat()
    assert old.pk not in _ids(get(RUNS, {"date_from": today}))
    body = get(f"{RUNS}{history.pk}/").json()
    assert body["mode"] == "historical" and body["status"] == "running"
    assert {"window_from", "window_to", "fetched", "deducted", "error"} <= set(body)
    for params in ({"status": "done"}, {"mode": "x"}, {"date_from": "2026-99-01"}):
        assert get(RUNS, params).status_code == 400
