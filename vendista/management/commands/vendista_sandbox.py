"""`manage.py vendista_sandbox`: the local Vendista API sandbox with the demo accounts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from vendista.sandbox.cli import add_arguments, build_sandbox, serve_forever


class Command(BaseCommand):
    help = "Serve a local Vendista API sandbox with the demo accounts until Ctrl-C / SIGTERM."
    # Touches no database or app state: skip the system checks so it starts anywhere.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        def write(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        serve_forever(build_sandbox(options), write)
