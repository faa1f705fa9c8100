"""The Django side of the multi-host tests, run by the test in the root namespace against the
fleet's database (`Fleet.driver`): seed owners, queue runs, set beat entries, read the state.

    python -m tests.scaleout.driver seed '<json>'        owners, connections, terminals, recipes
    python -m tests.scaleout.driver enqueue '<json>'     [[owner_id, "from", "to"], ...] → run ids
    python -m tests.scaleout.driver schedule '<json>'    {"every": {name: seconds}}: the other
                                                         entries disabled (no wall-clock ticks)
    python -m tests.scaleout.driver state                transactions, stock, runs

Each prints one JSON line.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from decimal import Decimal
from typing import Any

import django

STOCK = Decimal(100_000)


def seed(spec: dict[str, Any]) -> dict[str, Any]:
    """Per owner (`login`, `password`, `terminals`: [{id, comment}], `items`): an owner with an
    active Vendista connection, its terminals, a recipe per machine item 1..items on every
    terminal and every machine container full (far above what the sales take: no clamping)."""
    from django.db import transaction
    from django.utils import timezone

    from bench.chaos.workload import seed_recipes
    from inventory.models import Inventory, Location
    from inventory.reference import recipe_presets
    from notifications.models import NotificationSettings
    from phone.models import AlertSettings
    from tenancy.models import Owner
    from vendista.client import VendistaTerminal
    from vendista.models import Terminal, VendistaAccount
    from vendista.services import accounts, sync

    presets = recipe_presets()
    owners: dict[str, int] = {}
    with transaction.atomic():
        for spec_owner in spec["owners"]:
            owner = Owner.objects.create(name=f"Fleet: {spec_owner['login']}")
            NotificationSettings.objects.create(owner=owner)
            AlertSettings.objects.create(owner=owner, enabled=False)
            account = VendistaAccount.objects.create(owner=owner)
            account.imports_enabled = True
            account.payment_status = "active"
            accounts.set_credentials(account, spec_owner["login"], spec_owner["password"])
            account.save()
            sync.store_terminals(
                owner.pk,
                [
                    VendistaTerminal(
                        id=int(t["id"]),
                        comment=str(t["comment"]),
                        serial_number="",
                        last_online_time=timezone.now(),
                        last_hour_online=60,
                    )
                    for t in spec_owner["terminals"]
                ],
            )
            for terminal in Terminal.objects.filter(owner=owner):
                seed_recipes(terminal, presets, int(spec_owner["items"]))
            Inventory.objects.filter(owner=owner, location=Location.MACHINE).update(
                current_stock=STOCK, max_stock=STOCK
            )
            owners[spec_owner["login"]] = owner.pk
    return {"owners": owners}


def enqueue(pairs: list[list[Any]]) -> list[int | None]:
    """Queue one import run per [owner_id, from, to] (ISO times), none de-duplicated away."""
    from vendista.models import ImportMode
    from vendista.services import runs

    return [
        runs.enqueue(
            int(owner_id),
            window=(datetime.fromisoformat(start), datetime.fromisoformat(end)),
            mode=ImportMode.REGULAR,
            trigger="fleet-test",
            skip_if_active=False,
        )
        for owner_id, start, end in pairs
    ]


def schedule(spec: dict[str, Any]) -> dict[str, Any]:
    """Create the code's beat entries as beat does at start, then run the named ones every N
    seconds (an interval the admin may set) and disable the rest: no tick then depends on the
    wall clock."""
    from django.conf import settings
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from celery_app import app
    from core.scheduler import CodeDefaultsEntry

    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        CodeDefaultsEntry.from_entry(name, app=app, **entry)
    every: dict[str, int] = spec.get("every", {})
    for task in PeriodicTask.objects.all():
        if task.name in every:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=int(every[task.name]), period=IntervalSchedule.SECONDS
            )
            task.interval, task.crontab, task.enabled = interval, None, True
            task.expire_seconds = None
        else:
            task.enabled = False
        task.save()
    return {"enabled": sorted(every)}


def state() -> dict[str, Any]:
    """What the imports left: every stored transaction, the machine stock and its recipes,
    the runs."""
    from inventory.models import Inventory, Location, RecipeItem
    from vendista import crypto
    from vendista.models import ImportRun, Transaction, VendistaAccount

    transactions = {
        str(tx.id): [tx.amount, tx.vendista_terminal_id, tx.machine_item_id, tx.deduction_state]
        for tx in Transaction.objects.all()
    }
    stock = {
        f"{vid}:{name}": str(qty)
        for vid, name, qty in Inventory.objects.filter(location=Location.MACHINE).values_list(
            "terminal__vendista_id", "item_name", "current_stock"
        )
    }
    recipes: dict[str, dict[str, str]] = {}
    for vid, item, name, qty in RecipeItem.objects.values_list(
        "recipe__terminal__vendista_id", "recipe__machine_item_id", "item_name", "quantity"
    ):
        recipes.setdefault(f"{vid}:{item}", {})[name] = str(qty)
    runs = [
        {
            "id": run.pk,
            "owner_id": run.owner_id,
            "status": run.status,
            "attempts": run.attempts,
            "yields": run.yields,
            "pages_done": run.pages_done,
            "fetched": run.fetched,
            "inserted": run.inserted,
            "deducted": run.deducted,
            "error": run.error,
        }
        for run in ImportRun.objects.order_by("pk")
    ]
    logins = {
        str(owner_id): crypto.decrypt(login)
        for owner_id, login in VendistaAccount.objects.values_list("owner_id", "login_encrypted")
    }
    return {
        "owner_logins": logins,
        "transactions": transactions,
        "stock": stock,
        "recipes": recipes,
        "initial": str(STOCK),
        "runs": runs,
    }


def main(argv: list[str]) -> int:
    django.setup()
    command = argv[0]
    payload: Any = json.loads(argv[1]) if len(argv) > 1 else {}
    handlers = {
        "seed": lambda: seed(payload),
        "enqueue": lambda: enqueue(payload),
        "schedule": lambda: schedule(payload),
        "state": state,
    }
    print(json.dumps(handlers[command](), default=str), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
