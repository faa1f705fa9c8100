"""The staff API accepts exactly the query parameters its OpenAPI schema declares: anything
else is a 400 naming the parameter (in Russian), and declared ones keep working."""

from __future__ import annotations

import pytest

from tenancy.models import Role
from tests.helpers.coffee_shop import seed_shop
from tests.helpers.tenancy import make_tenant

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/api/tasks/?statsu=pending",
        "/api/transactions/?terminal_id=1",
        "/api/finance/summary/?period=today",
        "/api/terminals/1/?x=1",
        "/api/me/?debug=1",
    ],
)
def test_an_undeclared_query_parameter_is_a_400_naming_it(url: str) -> None:
    tenant = make_tenant(Role.OWNER)
    seed_shop(tenant.owner, marker="Свои")
    answer = tenant.client.get(url, HTTP_ACCEPT_LANGUAGE="ru")
    name = url.split("?")[1].split("=")[0]
    assert answer.status_code == 400, answer.content
    assert answer.json()[name] == ["Неизвестный параметр запроса."]


def test_declared_parameters_still_filter() -> None:
    tenant = make_tenant(Role.OWNER)
    shop = seed_shop(tenant.owner, marker="Свои")
    first = shop.terminals[0]
    answer = tenant.client.get(f"/api/tasks/?terminal={first.pk}&status=pending&page_size=5")
    assert answer.status_code == 200
    rows = answer.json()["results"]
    assert rows and {row["terminal"] for row in rows} == {first.pk}


def test_an_anonymous_caller_still_gets_401_not_a_parameter_error(client) -> None:
    assert client.get("/api/tasks/?statsu=pending").status_code == 401
