"""A kiosk lists only its own recent sessions, contacts masked; the staff API is throttled per
token and per address (Redis), the address being `core.net.client_ip`."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from kiosk.models import Session
from tests.helpers.kiosk import make_kiosk
from tests.helpers.tenancy import make_tenant

pytestmark = pytest.mark.django_db


def test_a_kiosk_lists_only_its_recent_sessions_with_contacts_masked(redis_client) -> None:
    k = make_kiosk()
    other = make_kiosk()
    for client in (k.client, other.client):
        response = client.post(
            "/api/sessions",
            {
                "type": "diagnostics",
                "contact": {"email": "ivan.petrov@mail.ru", "phone": "+79161234567"},
            },
            format="json",
        )
        assert response.status_code == 201
    old = Session.objects.filter(kiosk=k.kiosk).get()
    recent = k.client.post(
        "/api/sessions", {"type": "thickness", "contact": {"email": "anna@mail.ru"}}, format="json"
    ).json()
    Session.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=13))

    listed = k.client.get("/api/sessions").json()["results"]
    assert [row["id"] for row in listed] == [recent["id"]]
    assert listed[0]["contact"]["email"] == "a***@mail.ru"
    body = str(k.client.get("/api/sessions").content)
    assert "anna@mail.ru" not in body and "ivan.petrov" not in body

    # The owner's staff still see every session with its contact.
    staff = make_tenant(owner=k.kiosk.owner)
    rows = staff.client.get("/api/sessions").json()["results"]
    assert {row["contact"]["email"] for row in rows} == {"ivan.petrov@mail.ru", "anna@mail.ru"}


def test_staff_api_is_throttled_per_token(redis_client, settings) -> None:
    settings.STAFF_THROTTLE_RATE = "3/min"
    tenant = make_tenant()
    codes = [tenant.client.get("/api/tasks/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # Another token is counted apart.
    assert make_tenant().client.get("/api/tasks/").status_code == 200


def test_staff_api_is_throttled_per_client_address_behind_the_proxy(redis_client, settings) -> None:
    settings.STAFF_IP_THROTTLE_RATE = "2/min"
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    proxy: dict[str, Any] = {"REMOTE_ADDR": "10.0.0.1"}
    codes = [
        make_tenant().client.get("/api/tasks/", HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
        for _ in range(3)
    ]
    assert [r.status_code for r in codes] == [200, 200, 429]  # three tokens, one address
    # Another client behind the same proxy has its own budget; a forged left part changes
    # nothing (the right-most untrusted hop counts).
    other = make_tenant().client
    assert other.get("/api/tasks/", HTTP_X_FORWARDED_FOR="203.0.113.8", **proxy).status_code == 200
    forged = other.get(
        "/api/tasks/", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7", **proxy
    ).status_code
    assert forged == 429


def test_a_busy_kiosk_takes_tokens_a_few_at_a_time_and_exactly_at_the_limit(
    redis_client, settings
) -> None:
    """600 an hour: a process takes 10 tokens per Redis round trip and spends them itself; with
    fewer than 10 left in Redis it takes them one by one, so the limit is never overrun."""
    from core.throttles import RESERVOIR_S

    settings.KIOSK_THROTTLE_RATE = "600/hour"
    settings.KIOSK_IP_THROTTLE_RATE = "100000/min"
    k = make_kiosk()
    key = f"vk:rl:throttle_kiosk:kiosk-{k.kiosk.pk}"
    assert [k.client.get("/api/kiosk/me").status_code for _ in range(25)] == [200] * 25
    tokens = float(redis_client.hget(key, "tokens"))
    assert 570 <= tokens < 571  # three chunks of ten taken (plus under a second's refill)

    time.sleep(RESERVOIR_S + 0.05)  # the five tokens left in this process are dropped
    seconds, micros = redis_client.time()
    redis_client.hset(key, mapping={"tokens": 5, "ts": seconds + micros / 1e6})
    codes = [k.client.get("/api/kiosk/me").status_code for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2


def test_a_download_token_never_reaches_a_log_line(client, caplog) -> None:
    token = "eyJyIjoiMSJ9:1vXYZ:the-signature-part"
    with caplog.at_level("INFO"):
        assert client.get(f"/reports/download/{token}").status_code == 404
    lines = [record.getMessage() for record in caplog.records]
    assert any("/reports/download/***" in line for line in lines), lines
    assert not any("the-signature-part" in line for line in lines)
