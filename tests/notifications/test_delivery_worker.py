"""Delivery through a real Celery worker over real Redis into the Telegram sandbox over HTTP:
429 honoured, blocked chats disabled, the 402 notice sent once under a race."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from notifications.models import Delivery, DeliveryStatus, TelegramChat
from tasks_app import notices as task_notices
from tasks_app.models import Task
from tenancy.models import Owner, Role
from tests.helpers.idle import wait_until_idle
from vendista import notices as vendista_notices
from vendista.models import PaymentStatus, VendistaAccount

from .conftest import chat_of, make_person, make_terminal, unique_chat_id, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _worker(celery_worker):
    return celery_worker


def _cancelled_task_for(assignee, owner) -> Task:
    return Task.objects.create(
        owner=owner, terminal=make_terminal(owner, "Вокзал"), assignee=assignee, status="cancelled"
    )


def test_429_delays_then_delivers(sandbox) -> None:
    owner = Owner.objects.create(name="Альфа")
    assignee = make_person(owner, Role.SERVICE)
    chat = chat_of(assignee)
    sandbox.fail_429(count=1, retry_after=2, chat_id=chat)

    task_notices.task_cancelled(
        task_id=_cancelled_task_for(assignee, owner).pk, cancelled_by_user_id=None
    )

    delivery = wait_for(
        lambda: Delivery.objects.filter(recipient=chat, status=DeliveryStatus.SENT).first()
    )
    attempts = [a for a in sandbox.attempts if a.chat_id == chat]
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 2.0  # retry_after honoured
    assert delivery.attempts == 2
    assert "Задача отменена: Пополнение" in sandbox.sent_to(chat)[0].text


def test_blocked_chat_is_disabled_and_not_retried(sandbox, celery_worker) -> None:
    owner = Owner.objects.create(name="Бета")
    assignee = make_person(owner, Role.SERVICE)
    chat = chat_of(assignee)
    sandbox.block_chat(chat)

    task_notices.task_cancelled(
        task_id=_cancelled_task_for(assignee, owner).pk, cancelled_by_user_id=None
    )

    delivery = wait_for(
        lambda: Delivery.objects.filter(
            recipient=chat, status=DeliveryStatus.PERMANENTLY_FAILED
        ).first()
    )
    assert "blocked" in delivery.last_error
    linked = TelegramChat.objects.get(chat_id=int(chat))
    assert not linked.enabled
    assert "blocked" in linked.disabled_reason

    # Later events do not reach the disabled chat, and nothing retries the failed message.
    task_notices.task_cancelled(
        task_id=_cancelled_task_for(assignee, owner).pk, cancelled_by_user_id=None
    )
    wait_until_idle(celery_worker)
    assert [a.status for a in sandbox.attempts if a.chat_id == chat] == [403]
    assert Delivery.objects.filter(recipient=chat).count() == 1


def test_402_notice_is_sent_once_when_two_workers_race(sandbox, settings, celery_worker) -> None:
    settings.ADMIN_TELEGRAM_CHAT_ID = f"-{unique_chat_id()}"
    owner = Owner.objects.create(name="Гамма")
    VendistaAccount.objects.create(
        owner=owner,
        payment_status=PaymentStatus.PAYMENT_REQUIRED,
        payment_required_at=timezone.now(),
    )
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            vendista_notices.payment_required(
                owner_id=owner.pk, source="import", error="Vendista payment required - HTTP 402"
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    admin = settings.ADMIN_TELEGRAM_CHAT_ID
    wait_for(lambda: sandbox.sent_to(admin))
    wait_until_idle(celery_worker)  # a duplicate would be queued or on its way by now
    sent = sandbox.sent_to(admin)
    assert len(sent) == 1
    assert "ТРЕБУЕТСЯ ОПЛАТА VENDISTA" in sent[0].text
    assert "Гамма" in sent[0].text and "Импорт транзакций будет приостановлен" in sent[0].text
    assert Delivery.objects.filter(recipient=admin).count() == 1
    # A repeated call for the same transition records nothing new.
    vendista_notices.payment_required(owner_id=owner.pk, source="import", error="again")
    assert Delivery.objects.filter(recipient=admin).count() == 1


def test_event_never_raises_into_the_caller(sandbox) -> None:
    task_notices.task_completed(task_id=999_999_999, completed_by_user_id=None)  # no such task
    vendista_notices.payment_required(owner_id=999_999_999, source="sync", error="x")
