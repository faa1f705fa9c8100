"""Every input that used to make a 500 answers 400 naming the field, on the live server: bad
UUIDs and NUL bytes in query parameters, undeclared or malformed parameters, NUL bytes and lone
surrogates in JSON bodies, bodies nested too deep, oversized payment metadata."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from rest_framework.authtoken.models import Token

from tests.helpers.kiosk import KioskClient, make_kiosk
from tests.helpers.tenancy import make_tenant

pytestmark = pytest.mark.django_db(transaction=True)


class Api:
    def __init__(self, url: str, authorization: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.headers["Authorization"] = authorization

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.url + path, timeout=20)

    def post_raw(self, path: str, raw: str) -> requests.Response:
        return self.http.post(
            self.url + path,
            data=raw.encode("utf-8", "surrogatepass"),
            headers={"Content-Type": "application/json"},
            timeout=20,
        )


@pytest.fixture
def kiosk(live_server, redis_client) -> Iterator[tuple[Api, KioskClient]]:
    k = make_kiosk()
    api = Api(live_server.url, f"Kiosk {k.token}")
    yield api, k
    api.http.close()  # a kept-alive connection holds a server thread and its database connection


def _session(api: Api) -> dict:
    response = api.post_raw(
        "/api/sessions", json.dumps({"type": "diagnostics", "contact": {"email": "a@example.com"}})
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/payments/intent?session=abc", "session"),
        ("/api/reports?session=abc", "session"),
        ("/api/payments/intent?status=%00", "status"),
        ("/api/payments/intent?session=%00", "session"),
        ("/api/sessions?status=%00", "status"),
        ("/api/sessions?type=%00", "type"),
        ("/api/sessions?status=nonsense", "status"),
        ("/api/sessions?kiosk=abc", "kiosk"),
        ("/api/sessions?created_from=2026-13-45", "created_from"),
        ("/api/sessions?undeclared=1", "undeclared"),
        ("/api/payments/intent?foo=bar", "foo"),
        ("/api/kiosk/me?x=1", "x"),
    ],
)
def test_bad_query_parameters_are_400_naming_them(kiosk, path, field) -> None:
    api, _k = kiosk
    response = api.get(path)
    assert response.status_code == 400, (path, response.status_code, response.text)
    assert field in response.json()


def test_nul_in_a_staff_api_query_parameter_is_400(live_server, redis_client) -> None:
    tenant = make_tenant()
    token = Token.objects.get(user=tenant.user).key
    api = Api(live_server.url, f"Token {token}")
    response = api.get("/api/tasks?status=%00")
    api.http.close()
    assert response.status_code == 400
    assert "status" in response.json()


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ('{"vin": "A\\u0000B"}', "metadata.vin"),
        ('{"vin": "\\ud800"}', "metadata.vin"),
        ('{"n\\u0000": 1}', "metadata"),
    ],
)
def test_nul_and_lone_surrogates_in_json_are_400_naming_the_field(kiosk, metadata, field) -> None:
    api, _k = kiosk
    body = '{"type": "diagnostics", "contact": {"email": "a@example.com"}, "metadata": %s}'
    response = api.post_raw("/api/sessions", body % metadata)
    assert response.status_code == 400, response.text
    assert field in response.json()


def test_json_nested_too_deep_is_400(kiosk) -> None:
    api, _k = kiosk
    deep = "[" * 5000 + "]" * 5000
    response = api.post_raw("/api/sessions", f'{{"type": "diagnostics", "metadata": {deep}}}')
    assert response.status_code == 400, response.text
    moderate = '{"a":' * 40 + "1" + "}" * 40
    head = '{"type": "diagnostics", "contact": {"email": "a@example.com"}, "metadata": '
    response = api.post_raw("/api/sessions", head + moderate + "}")
    assert response.status_code == 400
    assert any(key.startswith("metadata") for key in response.json())


def test_payment_metadata_is_capped(kiosk) -> None:
    api, _k = kiosk
    session = _session(api)
    big = {"note": "x" * 200_000}
    response = api.post_raw(
        "/api/payments/intent", json.dumps({"session_id": session["id"], "metadata": big})
    )
    assert response.status_code == 400
    assert "metadata" in response.json()
