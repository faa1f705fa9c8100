"""`manage.py telegram_sandbox --port 8081`: a local Telegram Bot API stand-in (see sandbox.py)."""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notifications.sandbox import TelegramSandbox


class Command(BaseCommand):
    help = "Run the local Telegram Bot API sandbox (point TELEGRAM_API_URL at it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8081)

    def handle(self, *args: Any, **options: Any) -> None:
        sandbox = TelegramSandbox(options["host"], options["port"])
        self.stdout.write(f"Telegram sandbox at {sandbox.url} (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            sandbox.serve_forever()
