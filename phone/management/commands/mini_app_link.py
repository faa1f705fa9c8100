"""`manage.py mini_app_link <telegram id>`: a Mini App URL with initData signed by our bot token,
to try the page in a normal browser as Telegram would open it (development only)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from phone.initdata import sign


class Command(BaseCommand):
    help = "Print a Mini App link signed like Telegram's initData (not in production)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("telegram_id", type=int, help="the linked chat id (= Telegram user id)")
        parser.add_argument("--base", default="http://127.0.0.1:8000/app/", help="the page URL")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("only with DEBUG=1: in production Telegram signs the initData")
        if not settings.TELEGRAM_BOT_TOKEN:
            raise CommandError("set TELEGRAM_BOT_TOKEN first")
        fields = {
            "auth_date": str(int(time.time())),
            "user": json.dumps({"id": options["telegram_id"], "first_name": "Dev"}),
        }
        fields["hash"] = sign(fields, settings.TELEGRAM_BOT_TOKEN)
        data = urlencode(fields, quote_via=quote)
        self.stdout.write(f"{options['base']}#tgWebAppData={quote(data)}&tgWebAppVersion=7.10")
