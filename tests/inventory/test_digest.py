"""The hourly stock digest: grouping and formatting, recipients, marking rows only after Telegram
accepted every part (real HTTP to the Telegram sandbox, real PostgreSQL)."""

from __future__ import annotations

import pytest
import time_machine

from inventory.digest import build_digests
from inventory.models import ChangeSource, InventoryChange, Location
from notifications import services
from notifications.models import Delivery, DeliveryStatus, Digest, NotificationSettings
from tenancy.models import Owner, Role
from tests.helpers.telegram import chat_of, d, make_person, make_terminal

NB = "\u00a0"


def change(owner, location, item, before, after, source, terminal=None) -> InventoryChange:
    return InventoryChange.objects.create(
        owner=owner,
        terminal=terminal,
        location=location,
        item_name=item,
        source=source,
        quantity_before=d(before),
        quantity_after=d(after),
    )


@pytest.fixture
def realistic(db):
    """Two owners; warehouse, stands and machines of two terminals; transfers; sales; decimals."""
    alpha = Owner.objects.create(name="Альфа Кофе")
    alpha_owner = make_person(alpha, Role.OWNER)
    alpha_admin = make_person(alpha, Role.ADMIN)
    alpha_service = make_person(alpha, Role.SERVICE)
    make_person(alpha, Role.ADMIN, chat=False)  # no linked chat: nothing to send to
    office, station = make_terminal(alpha, "Бизнес-центр"), make_terminal(alpha, "Вокзал")
    W, S, M = Location.WAREHOUSE, Location.STAND, Location.MACHINE
    src = ChangeSource
    change(alpha, W, "Кофе", "0", "5000", src.WAREHOUSE_STOCKUP)
    change(alpha, W, "Кофе", "5000", "3500", src.TRANSFER_OUT)  # warehouse → office stand
    change(alpha, S, "Кофе", "0", "1500", src.TRANSFER_IN, office)
    change(alpha, S, "Кофе", "1500", "500", src.TRANSFER_OUT, office)  # stand → machine
    change(alpha, M, "Кофе", "200", "1200", src.TRANSFER_IN, office)
    change(alpha, W, "Вода", "10000", "9999.5", src.WAREHOUSE_ADJUST)
    change(alpha, W, "Сироп 1", "0", "1234.567", src.WAREHOUSE_STOCKUP)
    change(alpha, M, "Стаканы", "10", "110", src.RESTOCK_TASK, station)
    change(alpha, M, "Сахар-песок", "0", "50", src.TRANSFER_IN, station)  # nets to zero: left out
    change(alpha, M, "Сахар-песок", "50", "0", src.TRANSFER_OUT, station)
    change(alpha, M, "Кофе", "1200", "1182.25", src.SALE, office)  # sales not asked for

    beta = Owner.objects.create(name="Бета & Сыновья")
    beta_owner = make_person(beta, Role.OWNER)
    NotificationSettings.objects.create(owner=beta, digest_include_sales=True)
    park = make_terminal(beta, "Парк")
    change(beta, M, "Кофе", "500", "482", src.SALE, park)
    change(beta, M, "Кофе", "482", "582", src.RESTOCK_TASK, park)
    change(beta, M, "Кофе", "582", "582.5", src.SALE_REVERSAL, park)
    return {
        "alpha": alpha,
        "alpha_chats": [chat_of(alpha_owner), chat_of(alpha_admin)],
        "alpha_service_chat": chat_of(alpha_service),
        "beta": beta,
        "beta_chats": [chat_of(beta_owner)],
    }


ALPHA_TEXT = "\n".join(
    [
        "📊 <b>Изменения остатков — Альфа Кофе</b>",
        "<b>📦 Склад</b>",
        "• Вода: -0,5",
        f"• Кофе: +3{NB}500",
        f"• Сироп 1: +1{NB}234,567",
        "",
        "<b>☕️ Стойка · Бизнес-центр</b>",
        "• Кофе: +500",
        "",
        "<b>⚙️ Автомат · Бизнес-центр</b>",
        f"• Кофе: +1{NB}000",
        "",
        "<b>⚙️ Автомат · Вокзал</b>",
        "• Стаканы: +100",
    ]
)

BETA_TEXT = "\n".join(
    [
        "📊 <b>Изменения остатков — Бета &amp; Сыновья</b>",
        "<b>⚙️ Автомат · Парк</b>",
        "• Кофе: +100",
        "<i>Расход по продажам:</i>",
        "• Кофе: -17,5",
    ]
)


def test_digest_groups_per_owner_then_location_with_russian_numbers(realistic) -> None:
    digest_ids = build_digests(batch_size=4)  # several batches

    assert len(digest_ids) == 2
    alpha = Digest.objects.get(owner=realistic["alpha"])
    beta = Digest.objects.get(owner=realistic["beta"])
    assert alpha.chunks == [ALPHA_TEXT]
    assert beta.chunks == [BETA_TEXT]
    # Every row of the owner is covered (the unreported sale too), none notified yet.
    assert len(alpha.item_ids) == 11 and len(beta.item_ids) == 3
    assert not InventoryChange.objects.filter(is_notified=True).exists()
    # Owner and admins with linked chats receive it; service staff never.
    assert sorted(
        Delivery.objects.filter(digest=alpha).values_list("recipient", flat=True)
    ) == sorted(realistic["alpha_chats"])
    assert (
        list(Delivery.objects.filter(digest=beta).values_list("recipient", flat=True))
        == (realistic["beta_chats"])
    )
    assert not Delivery.objects.filter(recipient=realistic["alpha_service_chat"]).exists()
    # A second run takes nothing already in an open digest.
    assert build_digests() == []


def test_rows_are_marked_notified_only_after_telegram_accepted_every_part(
    realistic, telegram_sandbox
) -> None:
    build_digests()
    alpha = Digest.objects.get(owner=realistic["alpha"])
    parts = list(Delivery.objects.filter(digest=alpha))

    telegram_sandbox.fail_5xx(count=-1)
    for part in parts:
        assert services.deliver(part.pk, max_wait=5).status == "failed"
    assert len(telegram_sandbox.attempts) == 2 and telegram_sandbox.messages == []
    assert not InventoryChange.objects.filter(pk__in=alpha.item_ids, is_notified=True).exists()
    alpha.refresh_from_db()
    assert alpha.completed_at is None

    telegram_sandbox.clear_faults()
    # The clock at the failed parts' retry time, rather than a sleep that hopes to pass it.
    failed = Delivery.objects.filter(pk__in=[p.pk for p in parts])
    retry_at = max(at for at in failed.values_list("next_attempt_at", flat=True) if at)
    with time_machine.travel(retry_at, tick=True):
        assert services.deliver(parts[0].pk, max_wait=5).status == "sent"
        # One recipient still waits: not yet.
        assert not InventoryChange.objects.filter(pk__in=alpha.item_ids, is_notified=True).exists()
        assert services.deliver(parts[1].pk, max_wait=5).status == "sent"

    alpha.refresh_from_db()
    assert alpha.completed_at is not None
    assert InventoryChange.objects.filter(pk__in=alpha.item_ids, is_notified=False).count() == 0
    assert {m.text for m in telegram_sandbox.messages} == {ALPHA_TEXT}
    assert all(m.parse_mode == "HTML" for m in telegram_sandbox.messages)
    # Beta's rows are untouched until Beta's digest is accepted.
    beta = Digest.objects.get(owner=realistic["beta"])
    assert InventoryChange.objects.filter(pk__in=beta.item_ids, is_notified=False).count() == 3


def test_long_digest_is_split_with_the_header_and_sent_in_order(
    db, telegram_sandbox, settings
) -> None:
    settings.TELEGRAM_CHAT_RATE = 50.0  # keep the test quick; limits are tested elsewhere
    owner = Owner.objects.create(name="Большой склад")
    chat = chat_of(make_person(owner, Role.OWNER))
    for i in range(300):
        change(owner, Location.WAREHOUSE, f"Ингредиент номер {i:03d}", "0", "1", "warehouse_adjust")
    build_digests()
    digest = Digest.objects.get(owner=owner)
    assert len(digest.chunks) >= 3
    parts = list(Delivery.objects.filter(digest=digest).order_by("chunk_index"))
    assert [p.chunk_index for p in parts] == list(range(len(digest.chunks)))

    # A later part never overtakes an earlier one.
    assert services.deliver(parts[1].pk, max_wait=5).status == "waiting"
    for part in parts:
        assert services.deliver(part.pk, max_wait=5).status == "sent"

    texts = [m.text for m in telegram_sandbox.sent_to(chat)]
    assert texts == digest.chunks
    assert all(t.startswith("📊 <b>Изменения остатков — Большой склад</b>\n") for t in texts)
    assert all(len(t.encode("utf-16-le")) // 2 <= 4096 for t in texts)
    body = [line for t in texts for line in t.split("\n")[1:]]
    assert body[0] == "<b>📦 Склад</b>" and len(body) == 301
    assert InventoryChange.objects.filter(owner=owner, is_notified=False).count() == 0
    assert Delivery.objects.get(pk=parts[0].pk).status == DeliveryStatus.SENT


def test_owner_without_linked_chats_has_rows_marked_without_sending(db, telegram_sandbox) -> None:
    owner = Owner.objects.create(name="Без Telegram")
    make_person(owner, Role.OWNER, chat=False)
    change(owner, Location.WAREHOUSE, "Кофе", "0", "10", "warehouse_adjust")
    assert build_digests() == []
    assert InventoryChange.objects.get(owner=owner).is_notified
    assert telegram_sandbox.attempts == []
