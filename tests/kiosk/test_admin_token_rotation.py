"""Rotating a kiosk's API token in the admin: the new token is shown once, the old one stops
working at once, only a hash is stored, and the rotation is audited."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.test import APIClient

from audit.models import AuditEntry
from kiosk.models import Kiosk
from tests.helpers.kiosk import make_kiosk

pytestmark = pytest.mark.django_db

# The message ends with the token: 32 random bytes, URL-safe base64.
TOKEN_IN_MESSAGE = re.compile(r": ([A-Za-z0-9_-]{43})$")


def _me(token: str) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Kiosk {token}")
    return api.get("/api/kiosk/me").status_code


def test_rotate_token_action_replaces_the_token_shows_it_once_and_audits(
    redis_client, client
) -> None:
    k = make_kiosk()
    old = k.token
    assert _me(old) == 200
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)

    response = client.post(
        "/admin/kiosk/kiosk/",
        {"action": "rotate_token", "_selected_action": [str(k.kiosk.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    shown = [m for m in map(str, response.context["messages"]) if TOKEN_IN_MESSAGE.search(m)]
    assert len(shown) == 1, shown
    new = TOKEN_IN_MESSAGE.search(shown[0]).group(1)  # type: ignore[union-attr]
    assert new != old
    # The old token stops working at once; the new one works.
    assert _me(old) == 401
    assert _me(new) == 200
    # Stored: the SHA-256 of the token and its short prefix, never the token itself.
    kiosk = Kiosk.objects.get(pk=k.kiosk.pk)
    assert kiosk.token_hash == hashlib.sha256(new.encode()).hexdigest()
    assert kiosk.token_prefix == new[:8]
    assert kiosk.token_rotated_at is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM kiosk_kiosk WHERE id = %s", [kiosk.pk])
        row = cursor.fetchone()
    assert not any(new in str(value) for value in row)
    # Audited, with who did it, and without the token.
    entry = AuditEntry.objects.get(action="kiosk.token_rotated", object_id=str(kiosk.pk))
    assert entry.actor_user == admin
    assert entry.owner_id == kiosk.owner_id
    assert entry.summary == {"token_prefix": new[:8]}
    assert new not in str(entry.summary) and new not in entry.actor_label
    # Shown once: the next page does not show it again.
    again = client.get("/admin/kiosk/kiosk/")
    assert new not in again.content.decode()
