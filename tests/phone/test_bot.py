"""The bot over real HTTP: updates come from the Telegram sandbox (getUpdates through `run_bot`,
or pushed to the webhook by the sandbox as Telegram does), replies go out through the durable
delivery path to the sandbox's sendMessage, inline keyboards included."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.test import Client
from django.utils import timezone

from core.clock import moscow_today
from inventory.models import Inventory, Location
from inventory.services import create_default_containers
from notifications.models import TelegramChat
from phone.models import BotInvite
from planning.models import PickList
from tenancy.models import Membership, Owner, Role
from tests.helpers.telegram import chat_of, make_person, make_terminal, unique_chat_id
from tests.helpers.tenancy import make_tenant
from vendista.models import Expense, Transaction

from .conftest import WEB_APP_URL, buttons, last_to, run_bot_once

pytestmark = pytest.mark.django_db


def _sale(owner: Owner, terminal_id: int, kopecks: int, n: int) -> None:
    Transaction.objects.create(
        id=10_000_000 + n + owner.pk * 1000,
        owner=owner,
        terminal_id=terminal_id,
        vendista_terminal_id=1,
        amount=kopecks,
        result="1",
        reverse_id=0,
        time=timezone.now() - timedelta(minutes=5),
    )


@pytest.mark.wall_clock
def test_owner_gets_today_finances_equal_to_the_finance_endpoint(bot) -> None:
    tenant = make_tenant()
    person = tenant.user
    chat_id = unique_chat_id()
    TelegramChat.objects.create(user=person, chat_id=chat_id)
    terminal = make_terminal(tenant.owner, "ТЦ Галерея")
    for n, kopecks in enumerate([15000, 20050, 0]):
        _sale(tenant.owner, terminal.pk, kopecks, n)
    Expense.objects.create(owner=tenant.owner, amount=Decimal("100.00"), spent_at=timezone.now())

    bot.inject_update(chat_id=chat_id, text="/start")
    run_bot_once()
    menu = last_to(bot, chat_id)
    assert "Главное меню" in menu.text
    keys = buttons(menu)
    assert keys["Сегодня"]["callback_data"] == "fin:today"
    assert keys["📱 Открыть приложение"]["web_app"] == {"url": WEB_APP_URL}

    bot.inject_callback(chat_id=chat_id, data="fin:today")
    run_bot_once()
    assert len(bot.callback_answers) == 1  # the button press was answered
    text = last_to(bot, chat_id).text.replace("\u00a0", " ")
    today = moscow_today().isoformat()
    api = tenant.client.get(f"/api/finance/summary/?date_from={today}&date_to={today}").json()
    assert api["sales_count"] == 3
    assert f"Продажи: <b>{api['sales_count']}</b>" in text
    revenue = Decimal(api["revenue"])
    assert f"Выручка: <b>{revenue:,.2f}".replace(",", " ").replace(".", ",") in text
    net = Decimal(api["net_profit"])
    assert f"Чистая прибыль: <b>{net:,.2f}".replace(",", " ").replace(".", ",") in text


def test_typed_expense_is_recorded_once_and_a_quick_repeat_asks_first(bot) -> None:
    tenant = make_tenant(Role.ADMIN)
    chat_id = unique_chat_id()
    TelegramChat.objects.create(user=tenant.user, chat_id=chat_id)

    bot.inject_update(chat_id=chat_id, text="500 аренда")
    run_bot_once()
    expense = Expense.objects.get(owner=tenant.owner)
    assert (expense.amount, expense.comment, expense.created_by) == (
        Decimal("500.00"),
        "аренда",
        tenant.user,
    )
    recorded = last_to(bot, chat_id)
    assert "Расход записан" in recorded.text
    assert buttons(recorded)["↩️ Отменить"]["callback_data"] == f"exp:undo:{expense.pk}"

    bot.inject_update(chat_id=chat_id, text="500 аренда")  # again within a minute
    run_bot_once()
    assert Expense.objects.filter(owner=tenant.owner).count() == 1
    question = last_to(bot, chat_id)
    assert "меньше минуты назад" in question.text
    again = buttons(question)["Записать ещё раз"]["callback_data"]

    bot.inject_callback(chat_id=chat_id, data=again)
    bot.inject_callback(chat_id=chat_id, data=again)  # a double tap records it once
    run_bot_once()
    assert Expense.objects.filter(owner=tenant.owner).count() == 2

    bot.inject_update(chat_id=chat_id, text="1 200,50 ремонт кофемолки")
    run_bot_once()
    repair = Expense.objects.get(owner=tenant.owner, comment="ремонт кофемолки")
    assert repair.amount == Decimal("1200.50")
    bot.inject_callback(
        chat_id=chat_id, data=buttons(last_to(bot, chat_id))["↩️ Отменить"]["callback_data"]
    )
    run_bot_once()
    assert not Expense.objects.filter(pk=repair.pk).exists()
    assert "Расход отменён" in last_to(bot, chat_id).text


def test_service_staff_are_refused_finances_and_expenses_and_strangers_only_welcomed(bot) -> None:
    owner = Owner.objects.create(name="Кофейня")
    worker = make_person(owner, Role.SERVICE)
    chat_id = int(chat_of(worker))
    bot.inject_update(chat_id=chat_id, text="/start")
    bot.inject_callback(chat_id=chat_id, data="fin:month")
    bot.inject_update(chat_id=chat_id, text="/finance today")
    bot.inject_update(chat_id=chat_id, text="500 аренда")
    stranger = unique_chat_id()
    bot.inject_update(chat_id=stranger, text="/finance")
    bot.inject_callback(chat_id=stranger, data="fin:today")
    run_bot_once()

    menu, *refusals = [m for m in bot.sent_to(chat_id)]
    assert set(buttons(menu)) == {
        "📋 Мои задачи",
        "🆔 Мой ID",
        "🧺 Лист комплектации",
        "📱 Открыть приложение",
    }
    assert len(refusals) == 3
    assert all("недоступно для вашей роли" in m.text for m in refusals)
    assert not Expense.objects.exists()
    welcomes = bot.sent_to(stranger)
    assert len(welcomes) == 2 and all("бот уведомлений" in m.text for m in welcomes)
    assert all(m.reply_markup is None for m in welcomes)


def test_invite_link_joins_a_new_person_with_the_role_after_the_owner_confirms(bot) -> None:
    owner = Owner.objects.create(name="Кофейня")
    boss = make_person(owner, Role.OWNER)
    boss_chat = int(chat_of(boss))
    bot.inject_callback(chat_id=boss_chat, data="menu:invite")
    run_bot_once()
    assert set(buttons(last_to(bot, boss_chat))) == {"Администратор", "Сервисный сотрудник"}
    bot.inject_callback(chat_id=boss_chat, data="inv:role:service")
    run_bot_once()
    invite = BotInvite.objects.get(owner=owner)
    link = f"https://t.me/vendkiosk_test_bot?start=inv-{invite.token}"
    assert link in last_to(bot, boss_chat).text

    newcomer = unique_chat_id()
    bot.inject_update(chat_id=newcomer, text=f"/start inv-{invite.token}", username="petya")
    run_bot_once()
    assert not Membership.objects.filter(owner=owner, role=Role.SERVICE).exists()
    request = last_to(bot, boss_chat)
    assert "petya" in request.text
    confirm = buttons(request)["✅ Подтвердить"]["callback_data"]

    intruder = unique_chat_id()  # the link is one-time
    bot.inject_update(chat_id=intruder, text=f"/start inv-{invite.token}")
    bot.inject_callback(chat_id=newcomer, data=confirm)  # only the inviter may confirm
    run_bot_once()
    assert "не подошло" in last_to(bot, intruder).text
    assert not Membership.objects.filter(owner=owner, role=Role.SERVICE).exists()

    bot.inject_callback(chat_id=boss_chat, data=confirm)
    run_bot_once()
    chat = TelegramChat.objects.get(chat_id=newcomer)
    membership = Membership.objects.get(owner=owner, user=chat.user)
    assert membership.role == Role.SERVICE
    assert not TelegramChat.objects.filter(chat_id=intruder).exists()
    assert any("предоставили доступ" in m.text for m in bot.sent_to(newcomer))
    assert "📋 Мои задачи" in buttons(last_to(bot, newcomer))


def test_a_service_worker_cannot_invite(bot) -> None:
    owner = Owner.objects.create(name="Кофейня")
    worker = make_person(owner, Role.SERVICE)
    bot.inject_callback(chat_id=int(chat_of(worker)), data="inv:role:service")
    run_bot_once()
    assert not BotInvite.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_webhook_updates_from_telegram_need_the_secret(bot, live_server, settings) -> None:
    settings.TELEGRAM_WEBHOOK_SECRET = "right-secret"
    tenant = make_tenant()
    chat_id = unique_chat_id()
    TelegramChat.objects.create(user=tenant.user, chat_id=chat_id)
    from notifications.channels.telegram import TelegramBotApi

    api = TelegramBotApi()
    api.request(
        "setWebhook", {"url": f"{live_server.url}/telegram/webhook", "secret_token": "wrong"}
    )
    bot.inject_update(chat_id=chat_id, text="500 аренда")
    assert bot.webhook_deliveries[-1]["status"] == 403
    assert not Expense.objects.exists()

    api.request(
        "setWebhook", {"url": f"{live_server.url}/telegram/webhook", "secret_token": "right-secret"}
    )
    bot.inject_update(chat_id=chat_id, text="500 аренда")
    assert bot.webhook_deliveries[-1]["status"] == 200
    assert Expense.objects.filter(owner=tenant.owner, amount=Decimal("500")).count() == 1
    body = json.dumps({"update_id": 99, "message": {"chat": {"id": chat_id, "type": "private"}}})
    answer = Client().post(
        "/telegram/webhook", body, "application/json", HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="x"
    )
    assert answer.status_code == 403


def test_a_person_of_two_owners_picks_which_one_the_bot_acts_for(bot) -> None:
    first = make_tenant()
    second = make_tenant(Role.SERVICE)
    Membership.objects.create(owner=second.owner, user=first.user, role=Role.SERVICE)
    chat_id = unique_chat_id()
    TelegramChat.objects.create(user=first.user, chat_id=chat_id)
    bot.inject_update(chat_id=chat_id, text="/menu")
    run_bot_once()
    menu = last_to(bot, chat_id)
    assert first.owner.name in menu.text and "Сегодня" in buttons(menu)
    bot.inject_callback(chat_id=chat_id, data="own:list")
    run_bot_once()
    assert set(buttons(last_to(bot, chat_id))) == {first.owner.name, second.owner.name}
    bot.inject_callback(chat_id=chat_id, data=f"own:{second.owner.pk}")
    bot.inject_update(chat_id=chat_id, text="500 аренда")  # a service member there: refused
    run_bot_once()
    switched, refusal = bot.sent_to(chat_id)[-2:]
    assert second.owner.name in switched.text and "Сегодня" not in buttons(switched)
    assert "недоступно" in refusal.text and not Expense.objects.exists()
    outsider = make_tenant()
    bot.inject_callback(chat_id=chat_id, data=f"own:{outsider.owner.pk}")  # not a member
    run_bot_once()
    assert "недоступно" in last_to(bot, chat_id).text


def test_an_edited_expense_message_records_nothing_more(bot, settings) -> None:
    settings.TELEGRAM_WEBHOOK_SECRET = "s"
    tenant = make_tenant()
    chat_id = unique_chat_id()
    TelegramChat.objects.create(user=tenant.user, chat_id=chat_id)
    message = {
        "message_id": 5,
        "date": 1764000000,
        "edit_date": 1764000100,
        "chat": {"id": chat_id, "type": "private"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "A"},
        "text": "700 аренда",
    }
    answer = Client().post(
        "/telegram/webhook",
        json.dumps({"update_id": 5, "edited_message": message}),
        "application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="s",
    )
    assert answer.status_code == 200
    assert not Expense.objects.exists()
    message.pop("edit_date")
    Client().post(
        "/telegram/webhook",
        json.dumps({"update_id": 6, "message": message}),
        "application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="s",
    )
    assert Expense.objects.get().amount == Decimal("700")


def test_picklist_plans_the_visit_and_lists_what_to_bring(bot) -> None:
    owner = Owner.objects.create(name="Кофейня")
    worker = make_person(owner, Role.SERVICE)
    chat_id = int(chat_of(worker))
    terminal = make_terminal(owner, "ТЦ Галерея")
    create_default_containers(owner.pk, [terminal.pk])
    Inventory.objects.filter(terminal=terminal).update(current_stock=F("max_stock"))
    coffee = Inventory.objects.get(terminal=terminal, location=Location.MACHINE, item_name="Кофе")
    assert coffee.max_stock is not None
    coffee.current_stock = coffee.max_stock - 400  # no history: nothing used until the visit
    coffee.save()

    bot.inject_update(chat_id=chat_id, text="/picklist")
    bot.inject_callback(chat_id=chat_id, data="menu:picklist")
    run_bot_once()

    first, second = bot.sent_to(chat_id)
    (pick_list,) = PickList.objects.filter(owner=owner)  # the button shows the same list
    assert pick_list.day == moscow_today()
    for message in (first, second):
        assert f"Лист комплектации на {moscow_today():%d.%m.%Y}" in message.text
        assert "ТЦ Галерея" in message.text
        assert "Кофе — привезти 400" in message.text
        assert "не хватает 400" in message.text  # the warehouse has no coffee
