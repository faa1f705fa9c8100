"""The delivery log's "send again" takes failed, waiting and stuck rows (never one being sent),
and the sweep re-queues exactly the rows that are due: lost messages, lapsed claims, retries."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.utils import timezone

from notifications import services
from notifications.models import Delivery
from sandboxes.telegram import TelegramSandbox
from tests.helpers.telegram import unique_chat_id

pytestmark = pytest.mark.django_db


def _row(key: str, status: str, **fields: object) -> Delivery:
    return Delivery.objects.create(
        recipient="100", template="t", text="x", group_key=key, status=status, **fields
    )


def test_admin_send_again_takes_failed_waiting_and_stuck_rows_not_live_claims(
    client, redis_client, django_capture_on_commit_callbacks
) -> None:
    long_ago = timezone.now() - timedelta(hours=1)
    rows = {
        "permanently_failed": _row("a", "permanently_failed"),
        "failed": _row("b", "failed", next_attempt_at=timezone.now() + timedelta(hours=1)),
        "queued": _row("c", "queued"),
        "stuck": _row("d", "sending", claimed_at=long_ago),
        "live": _row("e", "sending", claimed_at=timezone.now()),
        "sent": _row("f", "sent", sent_at=long_ago),
    }
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/notifications/delivery/",
            {"action": "resend_failed", "_selected_action": [r.pk for r in rows.values()]},
            follow=True,
            headers={"accept-language": "en"},
        )
    assert "Deliveries queued again: 4" in [str(m) for m in response.context["messages"]]

    status = {name: Delivery.objects.get(pk=row.pk) for name, row in rows.items()}
    for name in ("permanently_failed", "failed", "queued", "stuck"):
        assert (status[name].status, status[name].claimed_at) == ("queued", None), name
        assert status[name].enqueued_at is not None, name
    assert status["live"].status == "sending" and status["live"].enqueued_at is None
    assert status["sent"].status == "sent"
    assert redis_client.llen("notifications") == 4


def test_the_sweep_requeues_only_due_rows(settings, redis_client) -> None:
    now = timezone.now()
    lost = now - timedelta(seconds=settings.TELEGRAM_REQUEUE_AFTER_SECONDS + 1)
    lapsed = now - timedelta(seconds=settings.TELEGRAM_SENDING_LEASE_SECONDS + 1)
    due = [
        _row("lost", "queued", enqueued_at=lost),
        _row("never-queued", "queued"),  # its after-commit hook never ran
        _row("lapsed", "sending", claimed_at=lapsed),
        _row("retry", "failed", next_attempt_at=now - timedelta(seconds=1)),
    ]
    Delivery.objects.filter(group_key="never-queued").update(created_at=lost)
    not_due = [
        _row("fresh", "queued", enqueued_at=now),
        _row("claimed", "sending", claimed_at=now),
        _row("later", "failed", next_attempt_at=now + timedelta(minutes=5)),
        _row("done", "sent"),
    ]

    assert services.sweep_pending() == len(due)

    for row in due:
        row.refresh_from_db()
        assert row.enqueued_at is not None and row.enqueued_at >= now, row.group_key
    for row in not_due:
        before = row.enqueued_at
        row.refresh_from_db()
        assert row.enqueued_at == before, row.group_key
    assert redis_client.llen("notifications") == len(due)


@pytest.mark.django_db(transaction=True)
def test_a_message_sent_while_postgresql_restarts_is_recorded_not_sent_again(
    telegram_sandbox: TelegramSandbox, settings, redis_client
) -> None:
    chat = str(unique_chat_id())
    delivery = Delivery.objects.create(
        recipient=chat, template="t", text="x", group_key="crash", status="queued"
    )
    telegram_sandbox.slow(1.0)  # Telegram takes the message, then answers
    backend = connection.connection.info.backend_pid

    def crash_meanwhile() -> None:
        # PostgreSQL drops our connection while the message is on its way.
        time.sleep(0.4)
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
        connections.close_all()

    crash = threading.Thread(target=crash_meanwhile)
    crash.start()
    outcome = services.deliver(delivery.pk)  # used to raise, leaving the row `sending`
    crash.join()

    delivery.refresh_from_db()
    assert (outcome.status, delivery.status) == ("sent", "sent")
    later = timezone.now() + timedelta(seconds=settings.TELEGRAM_SENDING_LEASE_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert services.sweep_pending() == 0  # nothing left for the sweep to send again
    assert len(telegram_sandbox.sent_to(chat)) == 1
