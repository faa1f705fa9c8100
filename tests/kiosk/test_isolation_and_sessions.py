"""Kiosk tokens see only their own data; sessions' state machine; throttling; staff reads."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEntry
from kiosk.models import Session
from kiosk.services import expire_sessions
from payments.models import PaymentIntent
from reports.models import Report
from tests.helpers.kiosk import make_kiosk
from tests.helpers.tenancy import make_tenant

pytestmark = pytest.mark.django_db


def _session(k, **extra) -> dict:
    response = k.client.post(
        "/api/sessions",
        {"type": "diagnostics", "contact": {"email": "a@example.com"}, **extra},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def _rows_of(kiosk_client) -> tuple[Session, PaymentIntent, Report]:
    session = Session.objects.get(pk=_session(kiosk_client)["id"])
    intent = PaymentIntent.objects.create(
        session=session,
        amount=48000,
        provider="dev",
        idempotency_key=f"vk-intent-{uuid.uuid4()}",
        expires_at=timezone.now() + timedelta(minutes=15),
    )
    report = Report.objects.create(session=session, kind="diagnostics", data={})
    return session, intent, report


def _ids(client: APIClient, url: str) -> set[str]:
    ids: set[str] = set()
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, (url, response.content)
        body = response.json()
        rows = body["results"] if isinstance(body, dict) else body
        ids |= {row["id"] for row in rows}
        next_url = body.get("next") if isinstance(body, dict) else None
    return ids


def test_a_kiosk_token_cannot_read_another_kiosks_data_on_any_endpoint(redis_client) -> None:
    a, b = make_kiosk(), make_kiosk()
    session_a, intent_a, report_a = _rows_of(a)
    session_b, intent_b, report_b = _rows_of(b)

    lists = ["/api/sessions", "/api/payments/intent", "/api/reports"]
    for url in lists:
        seen_by_a, seen_by_b = _ids(a.client, url), _ids(b.client, url)
        own_a = {str(session_a.pk), str(intent_a.pk), str(report_a.pk)}
        own_b = {str(session_b.pk), str(intent_b.pk), str(report_b.pk)}
        assert seen_by_a & own_a, f"{url}: kiosk A sees nothing of its own (vacuous check)"
        assert not seen_by_b & own_a, f"{url} shows kiosk A's rows to kiosk B"
        assert not seen_by_a & own_b, f"{url} shows kiosk B's rows to kiosk A"
    # Filters cannot widen the scope either.
    assert not _ids(b.client, f"/api/sessions?kiosk={a.kiosk.pk}")
    assert not _ids(b.client, f"/api/payments/intent?session={session_a.pk}")
    assert not _ids(b.client, f"/api/reports?session={session_a.pk}")

    details = [
        f"/api/sessions/{session_a.pk}",
        f"/api/payments/intent/{intent_a.pk}",
        f"/api/payments/status/{intent_a.pk}",
        f"/api/reports/{report_a.pk}",
        f"/api/reports/session/{session_a.pk}",
    ]
    for url in details:
        assert a.client.get(url).status_code == 200, url
        assert b.client.get(url).status_code == 404, f"{url} answered kiosk B"

    # Nor act on them.
    assert (
        b.client.patch(
            f"/api/sessions/{session_a.pk}", {"metadata": {"x": 1}}, format="json"
        ).status_code
        == 404
    )
    assert b.client.post(f"/api/sessions/{session_a.pk}/complete").status_code == 404
    assert b.client.post(f"/api/payments/confirm/{intent_a.pk}").status_code == 404
    response = b.client.post(
        "/api/payments/intent", {"session_id": str(session_a.pk)}, format="json"
    )
    assert response.status_code == 404
    response = b.client.post(
        "/api/reports/diagnostics",
        {"session_id": str(session_a.pk), "dtc_codes": []},
        format="json",
    )
    assert response.status_code == 404
    assert Session.objects.get(pk=session_a.pk).status == "active"
    assert PaymentIntent.objects.filter(session=session_a).count() == 1


def test_requests_without_a_valid_token_are_refused(redis_client) -> None:
    a = make_kiosk()
    session = _session(a)
    anonymous = APIClient()
    assert anonymous.get(f"/api/sessions/{session['id']}").status_code == 401
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Kiosk not-a-token")
    assert forged.get("/api/sessions").status_code == 401
    a.kiosk.is_active = False
    a.kiosk.save()
    assert a.client.get("/api/sessions").status_code == 401


def test_a_kiosk_is_remembered_in_process_memory_only_briefly(redis_client, settings) -> None:
    """A polling kiosk costs no Redis round trip for its token: this process remembers it for
    KIOSK_AUTH_LOCAL_CACHE_S. A change that bypasses the kiosk's save (as another process's would
    look from here) shows once that time is up; a save here shows at once."""
    from kiosk.models import Kiosk, token_cache_key

    settings.KIOSK_AUTH_LOCAL_CACHE_S = 1
    a = make_kiosk()
    assert a.client.get("/api/kiosk/me").status_code == 200
    Kiosk.objects.filter(pk=a.kiosk.pk).update(is_active=False)
    redis_client.delete(token_cache_key(a.kiosk.token_hash))
    assert a.client.get("/api/kiosk/me").status_code == 200  # from memory
    time.sleep(1.1)
    assert a.client.get("/api/kiosk/me").status_code == 401

    b = make_kiosk()
    assert b.client.get("/api/kiosk/me").status_code == 200
    b.kiosk.is_active = False
    b.kiosk.save()
    assert b.client.get("/api/kiosk/me").status_code == 401


def test_owner_staff_read_their_kiosks_sessions_but_not_others_and_cannot_write(
    redis_client,
) -> None:
    mine = make_kiosk()
    staff = make_tenant(owner=mine.kiosk.owner)
    other = make_kiosk()
    own_session = _session(mine)
    foreign_session = _session(other)
    seen = _ids(staff.client, "/api/sessions")
    assert own_session["id"] in seen
    assert foreign_session["id"] not in seen
    assert staff.client.get(f"/api/sessions/{foreign_session['id']}").status_code == 404
    response = staff.client.post(
        "/api/sessions", {"type": "diagnostics", "contact": {"email": "x@y.ru"}}, format="json"
    )
    assert response.status_code == 403


def test_token_is_stored_hashed() -> None:
    k = make_kiosk()
    k.kiosk.refresh_from_db()
    assert k.token not in (k.kiosk.token_hash, k.kiosk.token_prefix)
    assert len(k.kiosk.token_hash) == 64


def test_patch_pushes_expiry_and_terminal_states_are_final(redis_client) -> None:
    k = make_kiosk()
    session = _session(k, ttl_ms=60_000)
    first_expiry = Session.objects.get(pk=session["id"]).expires_at
    response = k.client.patch(
        f"/api/sessions/{session['id']}",
        {"contact": {"phone": "8 (916) 123-45-67"}, "metadata": {"vin": "X"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["contact"]["phone"] == "+79161234567"
    assert Session.objects.get(pk=session["id"]).expires_at > first_expiry

    Session.objects.filter(pk=session["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = k.client.post(f"/api/sessions/{session['id']}/complete")
    assert response.status_code == 409
    assert response.json()["code"] == "session_expired"
    assert Session.objects.get(pk=session["id"]).status == "expired"
    assert (
        k.client.patch(
            f"/api/sessions/{session['id']}", {"metadata": {}}, format="json"
        ).status_code
        == 409
    )


def test_beat_expiry_expires_sessions_and_cancels_their_unpaid_intents(redis_client) -> None:
    k = make_kiosk()
    session = _session(k)
    intent = k.client.post(
        "/api/payments/intent", {"session_id": session["id"]}, format="json"
    ).json()
    assert intent["amount"] == k.kiosk.price_diagnostics
    Session.objects.filter(pk=session["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    # on_commit callbacks run in this (non-transactional) test through captureOnCommitCallbacks
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert expire_sessions() == 1
    assert expire_sessions() == 0
    assert Session.objects.get(pk=session["id"]).status == "expired"
    closed = PaymentIntent.objects.get(pk=intent["id"])
    assert (closed.status, closed.failure_reason) == ("canceled", "session_expired")
    assert AuditEntry.objects.filter(action="session.expired", object_id=session["id"]).exists()
    assert k.client.get("/api/sessions?status=expired").json()["count"] == 1


def test_invalid_contact_and_oversized_metadata_are_rejected(redis_client, settings) -> None:
    k = make_kiosk()
    bad = k.client.post(
        "/api/sessions",
        {"type": "diagnostics", "contact": {"phone": "12345"}},
        format="json",
    )
    assert bad.status_code == 400
    assert "phone" in bad.json()["contact"]
    none = k.client.post("/api/sessions", {"type": "thickness", "contact": {}}, format="json")
    assert none.status_code == 400
    settings.KIOSK_SESSION_METADATA_MAX_BYTES = 300
    big = k.client.post(
        "/api/sessions",
        {"type": "thickness", "contact": {"email": "a@b.ru"}, "metadata": {"x": "y" * 400}},
        format="json",
    )
    assert big.status_code == 400


def test_throttling_per_kiosk_token_is_shared_through_redis(redis_client, settings) -> None:
    settings.KIOSK_THROTTLE_RATE = "3/min"
    k = make_kiosk()
    codes = [k.client.get("/api/sessions").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert any(
        key.startswith(b"vk:") and b"throttle_kiosk" in key for key in redis_client.scan_iter()
    )
    other = make_kiosk()
    assert other.client.get("/api/sessions").status_code == 200  # its own bucket


def test_throttling_per_ip(redis_client, settings) -> None:
    settings.KIOSK_IP_THROTTLE_RATE = "2/min"
    codes = [make_kiosk().client.get("/api/sessions").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


@pytest.mark.django_db
def test_a_malformed_id_of_the_right_length_is_a_404_not_a_500():
    k = make_kiosk()
    for url in (
        "/api/payments/status/000000000000000000000000000000000000/",
        "/api/sessions/------------------------------------/",
        "/api/reports/0123456789abcdef0123456789abcdef----/",
    ):
        assert k.client.get(url).status_code == 404, url
