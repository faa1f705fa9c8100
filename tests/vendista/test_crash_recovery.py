"""Crash safety: SIGKILL the worker process in the middle of a multi-page import, several
times; once the import finishes, everything equals a clean single import of the same data."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from core.clock import MOSCOW
from inventory.models import Inventory, InventoryChange, Location
from sandboxes.vendista import VendistaSandbox, generate_account
from tasks_app.models import Task
from tests.helpers.worker import WorkerProcess, worker_environment
from tests.vendista.coffee import configure, connect_owner, sync
from vendista.models import ImportRun, RunStatus, Terminal, Transaction
from vendista.services import runs

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
KILL_AT_PAGES = (3, 6, 9)


def snapshot(owner_id: int) -> dict[str, Any]:
    """Everything an import decides: rows, their states, stock, counters and open tasks."""
    return {
        "transactions": sorted(
            Transaction.objects.filter(owner_id=owner_id).values_list(
                "id", "deduction_state", "terminal_id", "machine_item_id", "reverse_id"
            )
        ),
        "restored": sorted(
            Transaction.objects.filter(owner_id=owner_id, restored_at__isnull=False).values_list(
                "id", flat=True
            )
        ),
        "stock": sorted(
            Inventory.objects.filter(owner_id=owner_id).values_list(
                "terminal_id", "location", "item_name", "current_stock"
            )
        ),
        "counters": sorted(
            Terminal.objects.filter(owner_id=owner_id).values_list(
                "id", "sales_since_cleaning", "sales_since_last_service"
            )
        ),
        "tasks": sorted(
            (t.terminal_id, t.status, tuple(t.details["critical_items"]))
            for t in Task.objects.filter(owner_id=owner_id)
        ),
    }


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def sandbox(settings: Any, redis_client: Any) -> Iterator[VendistaSandbox]:
    today = timezone.localtime().date()
    shop = generate_account(
        "crash-shop",
        "crash-pw",
        seed="crash",
        terminals=3,
        days=2,
        per_day=1000,
        machine_items=6,
        end=today - timedelta(days=1),
    )
    with VendistaSandbox(accounts=[shop]) as server:
        settings.VENDISTA_API_URL = server.url
        settings.VENDISTA_PAGE_SIZE = 100
        settings.VENDISTA_RATE_PER_TOKEN = settings.VENDISTA_RATE_GLOBAL = 1000.0
        settings.VENDISTA_LOCK_TTL = 5
        yield server


def test_sigkill_mid_import_loses_nothing_and_double_counts_nothing(sandbox):
    shop = sandbox.account("crash-shop")
    owner = connect_owner(shop)
    sync(owner)
    configure(owner, stock=Decimal(300))  # some containers run out: clamping and tasks matter
    initial_stock = list(Inventory.objects.filter(owner=owner).values_list("id", "current_stock"))
    # Slow pages so the worker can be killed between them.
    sandbox.set_faults(latency_s=0.12)

    worker = WorkerProcess(
        worker_environment(
            VENDISTA_API_URL=sandbox.url,
            VENDISTA_PAGE_SIZE="100",
            VENDISTA_RATE_PER_TOKEN="1000",
            VENDISTA_RATE_GLOBAL="1000",
            VENDISTA_LOCK_TTL="5",
        ),
        queues="imports",
    ).start()
    try:
        run_id = runs.enqueue(owner.pk, window_kind="last_7_days", trigger="test")
        assert run_id is not None
        kills = 0
        for pages in KILL_AT_PAGES:
            wait_for(
                lambda pages=pages: ImportRun.objects.get(pk=run_id).pages_done >= pages,
                90,
                f"page {pages}",
            )
            children = worker.pool_children()
            assert children, "the worker has no pool process"
            for child in children:
                os.kill(child, signal.SIGKILL)
            kills += 1
            # The run is taken up again in a fresh pool process, after its last committed page.
            wait_for(
                lambda kills=kills: ImportRun.objects.get(pk=run_id).attempts > kills,
                90,
                "the run to resume",
            )
            assert ImportRun.objects.get(pk=run_id).pages_done >= pages, "pages were lost"
        sandbox.set_faults(latency_s=0)
        wait_for(
            lambda: ImportRun.objects.get(pk=run_id).status == RunStatus.SUCCEEDED,
            120,
            "the import to finish",
        )
    finally:
        worker.stop()

    run = ImportRun.objects.get(pk=run_id)
    assert kills == len(KILL_AT_PAGES)
    assert run.attempts == len(KILL_AT_PAGES) + 1
    after_crashes = snapshot(owner.pk)
    assert len(after_crashes["transactions"]) == run.fetched > 1000

    # The same data imported once, cleanly, from the same starting point.
    Transaction.objects.filter(owner=owner).delete()
    InventoryChange.objects.filter(owner=owner).delete()
    Task.objects.filter(owner=owner).delete()
    Terminal.objects.filter(owner=owner).update(sales_since_cleaning=0, sales_since_last_service=0)
    for row_id, stock in initial_stock:
        Inventory.objects.filter(id=row_id).update(current_stock=stock)
    assert run.date_from is not None and run.date_to is not None
    clean = runs.run_now(owner.pk, window=(run.date_from, run.date_to), trigger="test")

    assert clean.status == RunStatus.SUCCEEDED
    assert snapshot(owner.pk) == after_crashes
    machine = Inventory.objects.filter(owner=owner, location=Location.MACHINE)
    assert machine.filter(current_stock=0).exists(), "the data set never ran a container dry"
    assert run.date_to.astimezone(MOSCOW) > run.date_from.astimezone(MOSCOW)
