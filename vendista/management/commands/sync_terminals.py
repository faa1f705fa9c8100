"""`manage.py sync_terminals --owner ID`: sync one owner's terminals in the foreground."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vendista.client import VendistaError
from vendista.models import RunKind, VendistaAccount
from vendista.services import runs
from vendista.services.lock import OwnerBusy


class Command(BaseCommand):
    help = "Sync one owner's terminals from Vendista, in the foreground."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--owner", type=int, required=True, help="owner id")

    def handle(self, *args: Any, **options: Any) -> None:
        owner_id = options["owner"]
        if not VendistaAccount.objects.filter(owner_id=owner_id).exists():
            raise CommandError(f"owner {owner_id} has no Vendista connection")
        run = runs.create_run(owner_id, kind=RunKind.SYNC, trigger="command", skip_if_active=False)
        assert run is not None
        try:
            summary = runs.execute_run(run.pk)
        except (OwnerBusy, VendistaError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"run {summary.run_id}: {summary.status} · {summary.fetched} listed · "
            f"{summary.inserted} new · {summary.updated} updated · "
            f"{summary.deducted} waiting sales deducted"
        )
        if summary.status != "succeeded":
            raise CommandError(f"sync {summary.status}: {summary.error}")
