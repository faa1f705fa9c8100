"""Binding a Telegram chat to a person: one-time code from the API, `/start <code>` received by
`run_bot` (long polling the sandbox) or by the webhook with its secret header."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client

from notifications.models import Delivery, TelegramChat, TelegramLinkCode
from tests.helpers.tenancy import make_tenant

from .conftest import TOKEN, unique_chat_id

pytestmark = pytest.mark.django_db


def test_api_issues_a_one_time_code_and_lists_linked_chats(settings) -> None:
    settings.TELEGRAM_BOT_USERNAME = "vendkiosk_bot"
    tenant = make_tenant()
    response = tenant.client.post("/api/me/telegram-link")
    assert response.status_code == 201
    body = response.json()
    assert body["command"] == f"/start {body['code']}"
    assert body["start_link"] == f"https://t.me/vendkiosk_bot?start={body['code']}"
    assert TelegramLinkCode.objects.get(code=body["code"]).user == tenant.user
    assert tenant.client.get("/api/me/telegram-link").json()["chats"] == []
    assert Client().get("/api/me/telegram-link").status_code in (401, 403)


def test_start_code_received_by_run_bot_links_the_chat(sandbox) -> None:
    tenant = make_tenant()
    code = tenant.client.post("/api/me/telegram-link").json()["code"]
    chat_id = unique_chat_id()
    sandbox.inject_update(chat_id=chat_id, text=f"/start {code}", username="ivan")
    sandbox.inject_update(chat_id=chat_id + 1, text=f"/start {code}")  # reused code: refused

    call_command("run_bot", "--once")

    chat = TelegramChat.objects.get(chat_id=chat_id)
    assert (chat.user, chat.enabled, chat.username) == (tenant.user, True, "ivan")
    assert not TelegramChat.objects.filter(chat_id=chat_id + 1).exists()
    assert TelegramLinkCode.objects.get(code=code).used_chat_id == chat_id
    replies = {d.recipient: d.template for d in Delivery.objects.all()}
    assert replies == {str(chat_id): "bot_linked", str(chat_id + 1): "bot_link_failed"}
    listed = tenant.client.get("/api/me/telegram-link").json()["chats"]
    assert [c["username"] for c in listed] == ["ivan"]


def test_webhook_needs_the_secret_header_and_links_from_the_update(settings) -> None:
    settings.TELEGRAM_WEBHOOK_SECRET = "s3cret-path-token"
    tenant = make_tenant()
    code = tenant.client.post("/api/me/telegram-link").json()["code"]
    chat_id = unique_chat_id()
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1764000000,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ivan"},
            "text": f"/start {code}",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    client = Client()
    payload = json.dumps(update)
    assert client.post("/telegram/webhook", payload, "application/json").status_code == 403
    response = client.post(
        "/telegram/webhook",
        payload,
        "application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="wrong",
    )
    assert response.status_code == 403
    assert not TelegramChat.objects.exists()

    response = client.post(
        "/telegram/webhook",
        payload,
        "application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="s3cret-path-token",
    )
    assert response.status_code == 200
    assert TelegramChat.objects.get(chat_id=chat_id).user == tenant.user


def test_webhook_is_off_without_a_secret(settings) -> None:
    settings.TELEGRAM_WEBHOOK_SECRET = ""
    assert Client().post("/telegram/webhook", "{}", "application/json").status_code == 404


def test_expired_code_does_not_link(sandbox) -> None:
    tenant = make_tenant()
    code = tenant.client.post("/api/me/telegram-link").json()["code"]
    tenant.client.post("/api/me/telegram-link")  # a newer code retires the older one
    sandbox.inject_update(chat_id=unique_chat_id(), text=f"/start {code}")
    call_command("run_bot", "--once")
    assert not TelegramChat.objects.exists()


def test_token_never_appears_in_errors(settings) -> None:
    from notifications.channels import DeliveryError, OutgoingMessage
    from notifications.channels.telegram import TelegramChannel

    settings.TELEGRAM_BOT_TOKEN = TOKEN
    settings.TELEGRAM_API_URL = "http://127.0.0.1:9"  # nothing listens
    with pytest.raises(DeliveryError) as caught:
        TelegramChannel().send(OutgoingMessage(recipient="1", text="x", html=True))
    assert not caught.value.permanent
    assert TOKEN not in str(caught.value)
