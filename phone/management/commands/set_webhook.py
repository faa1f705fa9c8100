"""`manage.py set_webhook <https url>`: point Telegram at our webhook, with the secret header."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications.channels.telegram import TelegramApiError, TelegramBotApi


class Command(BaseCommand):
    help = "Register https://<host>/telegram/webhook with Telegram (--delete: back to run_bot)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "url", nargs="?", help="e.g. https://vendkiosk.example.ru/telegram/webhook"
        )
        parser.add_argument("--delete", action="store_true", help="remove the webhook")

    def handle(self, *args: Any, **options: Any) -> None:
        api = TelegramBotApi()
        try:
            if options["delete"]:
                api.request("deleteWebhook", {"drop_pending_updates": False})
                self.stdout.write("webhook removed: use `manage.py run_bot` to poll")
                return
            if not options["url"]:
                raise CommandError("give the webhook URL, or --delete")
            if not settings.TELEGRAM_WEBHOOK_SECRET:
                raise CommandError(
                    "set TELEGRAM_WEBHOOK_SECRET first: the webhook is off without it"
                )
            api.request(
                "setWebhook",
                {
                    "url": options["url"],
                    "secret_token": settings.TELEGRAM_WEBHOOK_SECRET,
                    "allowed_updates": ["message", "callback_query"],
                },
            )
        except TelegramApiError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"webhook set: {options['url']}")
