"""Telegram: a person's link to their chats, and the Bot API webhook."""

from __future__ import annotations

from django.urls import path

from notifications.api import TelegramLinkView
from notifications.views import telegram_webhook

urlpatterns = [
    path("api/me/telegram-link", TelegramLinkView.as_view(), name="me-telegram-link"),
    path("telegram/webhook", telegram_webhook, name="telegram-webhook"),
]
