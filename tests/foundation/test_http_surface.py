"""Health, metrics, schema and admin: what an operator and a load balancer see."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.http import HttpRequest
from django.test import Client

from tenancy.demo import DEMO_LOGINS


@pytest.mark.django_db(transaction=True)
def test_healthz_is_200_and_lists_the_live_worker(celery_worker, client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True
    assert celery_worker.hostname in body["checks"]["celery"]["workers"]


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down(client: Client, settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["ok"] is False
    assert (
        "127.0.0.1:1" not in body["checks"]["redis"]["error"]
        or "Error" in (body["checks"]["redis"]["error"])
    )
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_metrics_are_exported(client: Client) -> None:
    client.get("/healthz")
    response = client.get("/metrics")

    assert response.status_code == 200
    text = response.content.decode()
    assert "django_http_requests_total_by_view_transport_method_total" in text
    assert 'view="healthz"' in text


@pytest.mark.django_db
def test_metrics_require_the_token_when_one_is_set(client: Client, settings) -> None:
    settings.METRICS_TOKEN = "scrape-me"

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/me/", "/api/members/", "/api/schema/"])
def test_api_without_credentials_is_refused(client: Client, url: str) -> None:
    assert client.get(url).status_code in (401, 403)


@pytest.mark.django_db
def test_api_docs_send_anonymous_browsers_to_the_login(client: Client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_schema_and_docs_are_served_to_a_signed_in_user(client: Client) -> None:
    call_command("seed_demo")
    # The lockout backend needs the request a login comes with.
    assert client.login(request=HttpRequest(), username="demo-owner", password="owner-demo-2026")

    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/members/" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


@pytest.mark.django_db
def test_admin_login_with_the_printed_demo_credentials_is_in_russian(client: Client) -> None:
    call_command("seed_demo")
    staff = next(login for login in DEMO_LOGINS if login.is_staff)

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": staff.username, "password": staff.password},
        follow=True,
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Сводка" in page  # the cabinet's dashboard title in Russian
    assert "Владельцы" in page  # tenancy.Owner's plural in Russian


@pytest.mark.django_db
def test_admin_speaks_english_to_a_browser_that_asks_for_it(client: Client) -> None:
    response = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert 'lang="en"' in response.content.decode()
    assert "Log in" in response.content.decode()
