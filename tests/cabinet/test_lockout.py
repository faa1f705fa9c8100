"""Failed logins lock a user out on the admin login and the API token endpoint alike; the
lockout is audited, lifts after the cool-off, and platform staff can lift it (audited)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "right-password-2026"


@pytest.fixture
def user():
    return get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)


def admin_login(client: Client, password: str) -> int:
    response = client.post("/admin/login/?next=/admin/", {"username": "boss", "password": password})
    return response.status_code


def token_login(client: Client, password: str) -> int:
    response = client.post("/api/auth/token/", {"username": "boss", "password": password})
    return response.status_code


@pytest.mark.parametrize("login", [admin_login, token_login])
def test_wrong_passwords_lock_out_then_the_cool_off_lifts_it(user, login) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert login(client, "wrong") in (200, 400, 429)
    # The right password is refused while the lockout lasts.
    assert login(client, PASSWORD) == 429
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="auth.locked_out", object_id="boss").exists()
    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=5)):
        assert login(Client(), PASSWORD) in (200, 302)


def test_a_correct_login_works_and_the_token_endpoint_answers_the_token(user) -> None:
    assert admin_login(Client(), PASSWORD) == 302
    response = Client().post("/api/auth/token/", {"username": "boss", "password": PASSWORD})
    assert response.status_code == 200 and len(response.json()["token"]) == 40


def test_staff_lift_a_lockout_and_it_is_audited(user) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        token_login(client, "wrong")
    assert token_login(client, PASSWORD) == 429
    other = get_user_model().objects.create_superuser("ops", "ops@example.com", "ops-pw-2026")
    staff = Client(REMOTE_ADDR="10.0.0.9")
    staff.force_login(other)
    from axes.models import AccessAttempt

    ids = list(AccessAttempt.objects.values_list("pk", flat=True))
    assert ids
    staff.post("/admin/axes/accessattempt/", {"action": "lift_lockout", "_selected_action": ids})
    assert AuditEntry.objects.filter(action="auth.lockout_reset", actor_label="ops").exists()
    assert token_login(Client(), PASSWORD) == 200


def test_failures_count_against_the_client_behind_a_trusted_proxy_not_a_spoofed_header(
    user, settings
) -> None:
    settings.TRUSTED_PROXIES = ["10.9.0.0/16"]
    from axes.models import AccessAttempt

    # Through the proxy: the client's own address (right-most untrusted hop) is recorded.
    proxied = Client(REMOTE_ADDR="10.9.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7")
    token_login(proxied, "wrong")
    # Straight from the internet with a forged header: the peer address stands.
    forged = Client(REMOTE_ADDR="198.51.100.4", HTTP_X_FORWARDED_FOR="203.0.113.99")
    token_login(forged, "wrong")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {
        "203.0.113.7",
        "198.51.100.4",
    }
