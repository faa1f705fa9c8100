"""`manage.py import_transactions --owner ID --from ISO --to ISO [--historical]`: one import in
the foreground with a progress bar and a summary."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.clock import MOSCOW, as_moscow
from vendista.client import VendistaError
from vendista.models import ImportMode, ImportRun, VendistaAccount
from vendista.services import runs
from vendista.services.lock import LeaseLost, OwnerBusy


def parse_moment(value: str, *, end: bool) -> datetime:
    """ISO date or datetime; naive values are Moscow time; a bare date covers the whole day."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time.max if end else time.min, MOSCOW)
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"not an ISO date or datetime: {value!r}") from exc
    return as_moscow(moment)


class ProgressBar:
    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def __call__(self, run: ImportRun) -> None:
        total = run.pages_total or run.pages_done
        width = 30
        done = int(width * run.pages_done / total) if total else width
        line = (
            f"[{'#' * done}{'.' * (width - done)}] page {run.pages_done}/{total or '?'} "
            f"· {run.fetched} fetched · {run.inserted} new · {run.deducted} deducted"
        )
        if self.tty:
            self.stream.write("\r" + line, ending="")
        else:
            self.stream.write(line)
        self.stream.flush()


class Command(BaseCommand):
    help = "Import one owner's Vendista transactions for a window, in the foreground."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--owner", type=int, required=True, help="owner id")
        parser.add_argument("--from", dest="date_from", required=True, help="ISO date/datetime")
        parser.add_argument("--to", dest="date_to", required=True, help="ISO date/datetime")
        parser.add_argument(
            "--historical",
            action="store_true",
            help="store only: no stock deduction, no tasks (full-history loads)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        owner_id = options["owner"]
        if not VendistaAccount.objects.filter(owner_id=owner_id).exists():
            raise CommandError(f"owner {owner_id} has no Vendista connection")
        date_from = parse_moment(options["date_from"], end=False)
        date_to = parse_moment(options["date_to"], end=True)
        if date_from > date_to:
            raise CommandError("--from is after --to")
        mode = ImportMode.HISTORICAL if options["historical"] else ImportMode.REGULAR
        self.stderr.write(
            f"importing owner {owner_id}: {date_from:%Y-%m-%d %H:%M} → {date_to:%Y-%m-%d %H:%M} "
            f"(Moscow), {mode}"
        )
        try:
            summary = runs.run_now(
                owner_id,
                window=(date_from, date_to),
                mode=mode,
                trigger="command",
                progress=ProgressBar(self.stderr),
            )
        except OwnerBusy as exc:
            raise CommandError(str(exc)) from exc
        except LeaseLost as exc:
            raise CommandError(f"import stopped: {exc}") from exc
        except VendistaError as exc:
            raise CommandError(f"Vendista failed: {exc}") from exc
        self.stderr.write("")
        self.stdout.write(
            f"run {summary.run_id}: {summary.status}\n"
            f"  pages         {summary.pages}\n"
            f"  fetched       {summary.fetched}\n"
            f"  inserted      {summary.inserted}\n"
            f"  updated       {summary.updated}\n"
            f"  deducted      {summary.deducted}\n"
            f"  needs_recipe  {summary.needs_recipe}\n"
            f"  unknown term. {summary.unknown_terminal}\n"
            f"  refunds       {summary.restored}\n"
            f"  tasks created {summary.tasks_created}\n"
            f"  duration      {summary.duration_s:.1f} s"
        )
        if summary.status != "succeeded":
            raise CommandError(f"import {summary.status}: {summary.error}")
