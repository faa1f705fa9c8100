"""`manage.py seed_demo`: load the demo data of every app (idempotent, DEV only)."""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Create or reset the demo owner, logins and each app's demo data. Safe to re-run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="run even when AGENT_ENV=PROD (never do this on real data)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.IS_PROD and not options["force"]:
            raise CommandError("seed_demo refuses to run with AGENT_ENV=PROD (use --force).")
        log: list[str] = []
        # tenancy first: the others hang their demo rows on its owner.
        configs = sorted(apps.get_app_configs(), key=lambda c: c.name != "tenancy")
        for config in configs:
            try:
                module = importlib.import_module(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise
                continue
            module.seed(log)
        self.stdout.write("Demo data ready:")
        for line in log:
            self.stdout.write(f"  {line}")
