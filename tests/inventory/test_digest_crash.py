"""A worker killed between Telegram accepting a digest part and recording it: the digest is sent
again after a restart and every change row is eventually reported and marked — never lost.

The digest runs in a real `celery worker` subprocess; the Telegram sandbox records the second
part (Telegram has it) and holds its answer, the worker is SIGKILLed, then a fresh worker and
the minute sweep (queued here as beat would) finish the job.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inventory.models import InventoryChange, Location
from inventory.tasks import send_inventory_digest
from notifications.models import Delivery, DeliveryStatus, Digest
from notifications.tasks import sweep_pending_deliveries
from tenancy.models import Owner, Role
from tests.helpers.telegram import TOKEN, chat_of, d, make_person, wait_for
from tests.helpers.worker import WorkerProcess, worker_environment

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_env(telegram_sandbox, redis_client) -> dict[str, str]:
    return worker_environment(
        TELEGRAM_PROVIDER="telegram",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=telegram_sandbox.url,
        TELEGRAM_TIMEOUT="30",
        TELEGRAM_CHAT_RATE="20",
        TELEGRAM_SENDING_LEASE_SECONDS="2",
        TELEGRAM_RETRY_BASE_SECONDS="0.5",
    )


@pytest.fixture
def workers(worker_env) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.kill()


def test_killing_the_worker_between_send_and_mark_resends_never_loses(
    telegram_sandbox, worker_env, workers
) -> None:
    owner = Owner.objects.create(name="Крупный клиент")
    chat = chat_of(make_person(owner, Role.OWNER))
    for i in range(300):
        InventoryChange.objects.create(
            owner=owner,
            location=Location.WAREHOUSE,
            item_name=f"Ингредиент номер {i:03d}",
            source="warehouse_adjust",
            quantity_before=d("0"),
            quantity_after=d("1.5"),
        )
    # Part 1 is answered; part 2 is recorded (Telegram has it) but its answer never comes.
    telegram_sandbox.hang_after(1)
    first = WorkerProcess(worker_env, queues="notifications", pool="threads", concurrency=2)
    workers.append(first)
    first.start()
    send_inventory_digest.delay()

    # Part 2 in flight: Telegram has it, its row is claimed, its answer is held back.
    wait_for(lambda: len(telegram_sandbox.sent_to(chat)) == 2, timeout=60)
    wait_for(
        lambda: Delivery.objects.filter(
            digest__owner=owner, chunk_index=1, status=DeliveryStatus.SENDING
        ).exists()
    )
    first.kill()

    digest = Digest.objects.get(owner=owner)
    assert len(digest.chunks) >= 3
    in_flight = Delivery.objects.get(digest=digest, chunk_index=1)
    assert in_flight.status == DeliveryStatus.SENDING  # sent, but never recorded as sent
    assert InventoryChange.objects.filter(owner=owner, is_notified=True).count() == 0

    telegram_sandbox.clear_faults()
    second = WorkerProcess(worker_env, queues="notifications", pool="threads", concurrency=2)
    workers.append(second)
    second.start()

    def finished() -> bool:
        sweep_pending_deliveries.delay()  # what beat queues every minute
        return not InventoryChange.objects.filter(owner=owner, is_notified=False).exists()

    wait_for(finished, timeout=90, interval=2.0)

    texts = [message.text for message in telegram_sandbox.sent_to(chat)]
    # Every part arrived, in order; only the part in flight at the crash came twice.
    assert texts[0] == digest.chunks[0]
    assert texts[1] == texts[2] == digest.chunks[1]
    assert texts[3:] == digest.chunks[2:]
    reported = {line for text in texts for line in text.split("\n")[1:]}
    assert all(f"• Ингредиент номер {i:03d}: +1,5" in reported for i in range(300))
    digest.refresh_from_db()
    assert digest.completed_at is not None
    assert set(Delivery.objects.filter(digest=digest).values_list("status", flat=True)) == {
        DeliveryStatus.SENT
    }
