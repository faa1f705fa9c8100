"""Task notices carry the Mini App button to Telegram; the Telegram sandbox checks keyboards,
answers callbacks, takes photo uploads and pushes updates to a webhook as Telegram does; the
initData check refuses anything not signed by our bot or too old."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from notifications.models import Delivery
from phone.initdata import InitDataError, sign, validate
from sandboxes.telegram import TelegramSandbox
from tasks_app import notices
from tasks_app.models import Task
from tenancy.models import Owner, Role
from tests.helpers.telegram import TOKEN, chat_of, make_person, make_terminal

from .conftest import WEB_APP_URL, buttons, send_queued


@pytest.mark.django_db
def test_task_notices_to_the_assignee_carry_the_web_app_button(bot) -> None:
    owner = Owner.objects.create(name="Альфа")
    boss = make_person(owner, Role.OWNER)
    worker = make_person(owner, Role.SERVICE)
    terminal = make_terminal(owner, "ТЦ Плаза")
    auto = Task.objects.create(
        owner=owner,
        terminal=terminal,
        assignee=worker,
        is_auto=True,
        details={"critical_items": ["Кофе"], "missing_items": []},
    )
    notices.restock_task_created(task_id=auto.pk)
    manual = Task.objects.create(
        owner=owner, terminal=make_terminal(owner, "Нева"), assignee=worker, comment="Стаканы"
    )
    notices.restock_task_created(task_id=manual.pk)
    notices.task_completed(task_id=auto.pk, completed_by_user_id=worker.pk)
    send_queued()

    to_worker = bot.sent_to(chat_of(worker))
    assert [m.text.splitlines()[0] for m in to_worker] == [
        "<b>🔔 Новые задачи назначены вам:</b>",
        "🧹 Новая задача: <b>Пополнение</b>",
    ]
    assert buttons(to_worker[0]) == {
        "📱 Открыть приложение": {"text": "📱 Открыть приложение", "web_app": {"url": WEB_APP_URL}}
    }
    assert buttons(to_worker[1])["🗃 Открыть задачи"]["web_app"] == {"url": WEB_APP_URL}
    to_boss = bot.sent_to(chat_of(boss))
    # The summaries and the "task completed" notice are delivered, without a keyboard.
    assert [m.text.splitlines()[0] for m in to_boss] == [
        "<b>📋 Созданы новые сервисные задачи:</b>",
        "<b>📋 Созданы новые сервисные задачи:</b>",
        "✅ Задача выполнена: <b>Пополнение</b>",
    ]
    assert all(m.reply_markup is None for m in to_boss)
    assert Delivery.objects.filter(status="sent").count() == 5


@pytest.fixture
def sandbox() -> Iterator[TelegramSandbox]:
    server = TelegramSandbox().start()
    yield server
    server.stop()


def _call(sandbox: TelegramSandbox, method: str, **kwargs):
    return requests.post(f"{sandbox.url}/bot{TOKEN}/{method}", timeout=5, **kwargs)


def test_sandbox_checks_keyboards_as_telegram_does(sandbox) -> None:
    plain = {"inline_keyboard": [[{"text": "App", "web_app": {"url": "http://insecure.test/"}}]]}
    answer = _call(sandbox, "sendMessage", json={"chat_id": 1, "text": "x", "reply_markup": plain})
    assert answer.status_code == 400 and "Only HTTPS links" in answer.json()["description"]
    long_data = {"inline_keyboard": [[{"text": "B", "callback_data": "x" * 65}]]}
    answer = _call(
        sandbox, "sendMessage", json={"chat_id": 1, "text": "x", "reply_markup": long_data}
    )
    assert answer.json()["description"].endswith("BUTTON_DATA_INVALID")
    good = {
        "inline_keyboard": [
            [
                {"text": "B", "callback_data": "fin:today"},
                {"text": "App", "web_app": {"url": "https://a.test/app/"}},
            ]
        ]
    }
    answer = _call(sandbox, "sendMessage", json={"chat_id": 1, "text": "x", "reply_markup": good})
    assert answer.json()["ok"] and sandbox.messages[-1].reply_markup == good


def test_sandbox_answers_callbacks_once_and_takes_photos(sandbox) -> None:
    update = sandbox.inject_callback(chat_id=7, data="fin:today")
    query_id = update["callback_query"]["id"]
    assert _call(sandbox, "answerCallbackQuery", json={"callback_query_id": query_id}).json()["ok"]
    again = _call(sandbox, "answerCallbackQuery", json={"callback_query_id": query_id})
    assert again.status_code == 400 and "query ID is invalid" in again.json()["description"]

    sent = _call(
        sandbox,
        "sendPhoto",
        data={"chat_id": "7", "caption": "после"},
        files={"photo": ("m.jpg", b"\xff\xd8jpeg-bytes", "image/jpeg")},
    )
    assert sent.json()["ok"]
    assert (sandbox.photos[-1].content, sandbox.photos[-1].caption) == (
        b"\xff\xd8jpeg-bytes",
        "после",
    )
    assert _call(sandbox, "sendPhoto", data={"chat_id": "7"}).status_code == 400

    photo = sandbox.inject_photo(chat_id=7, content=b"photo-from-user")
    file_id = photo["message"]["photo"][0]["file_id"]
    path = _call(sandbox, "getFile", json={"file_id": file_id}).json()["result"]["file_path"]
    assert (
        requests.get(f"{sandbox.url}/file/bot{TOKEN}/{path}", timeout=5).content
        == b"photo-from-user"
    )


def test_sandbox_webhook_excludes_polling(sandbox) -> None:
    assert _call(sandbox, "setWebhook", json={"url": "http://example.test/hook"}).status_code == 400
    assert _call(sandbox, "setWebhook", json={"url": "http://127.0.0.1:9/hook"}).json()["ok"]
    assert _call(sandbox, "getUpdates", json={}).status_code == 409
    sandbox.inject_update(chat_id=1, text="/start")
    assert sandbox.webhook_deliveries[-1]["status"] == 0  # nothing listens there
    assert _call(sandbox, "deleteWebhook", json={}).json()["ok"]
    sandbox.inject_update(chat_id=1, text="/start")
    assert len(_call(sandbox, "getUpdates", json={}).json()["result"]) == 1


def test_init_data_must_be_signed_by_our_bot_and_fresh() -> None:
    fields = {"auth_date": str(int(time.time())), "user": '{"id":42,"first_name":"A"}'}
    good = "&".join(f"{k}={v}" for k, v in fields.items()) + f"&hash={sign(fields, TOKEN)}"
    assert validate(good, bot_token=TOKEN, max_age=60).telegram_id == 42
    for broken, token, age in (
        (good.replace('"id":42', '"id":43'), TOKEN, 60),  # tampered
        (good, "1:other", 60),  # another bot's token
        (good.split("&hash=")[0], TOKEN, 60),  # unsigned
    ):
        with pytest.raises(InitDataError):
            validate(broken, bot_token=token, max_age=age)
    with pytest.raises(InitDataError):
        validate(good, bot_token=TOKEN, max_age=60, now=time.time() + 61)  # stale
