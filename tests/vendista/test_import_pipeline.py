"""The import pipeline against the Vendista sandbox over real HTTP and the real database."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction

from audit.models import AuditEntry
from core.clock import MOSCOW
from inventory.models import ChangeSource, Inventory, InventoryChange, Location, Recipe
from inventory.services import create_default_containers
from notifications.models import Delivery
from planning.models import Forecast
from planning.services import forecast_containers
from sandboxes.vendista import generate_account
from tasks_app.models import Task, TaskStatus
from tasks_app.services import evaluate_restock
from tests.vendista.coffee import (
    RECIPE_ITEMS,
    configure,
    connect_owner,
    expected_use,
    import_window,
    machine_stock,
    recipe_for,
    sync,
    used_since,
    window,
)
from tests.vendista.conftest import LAST_DAY
from vendista import crypto
from vendista.client import VendistaUnavailable
from vendista.models import (
    DeductionState,
    ImportRun,
    PaymentStatus,
    RunStatus,
    Terminal,
    Transaction,
    VendistaAccount,
)
from vendista.services import accounts, runs
from vendista.services.lock import OwnerBusy, owner_lock

pytestmark = pytest.mark.django_db
FIRST_DAY = LAST_DAY - timedelta(days=2)


@pytest.fixture
def owner(sandbox, shop):
    owner = connect_owner(shop)
    sync(owner)
    configure(owner)
    return owner


def test_import_stores_every_transaction_of_the_window_with_its_state(sandbox, shop, owner):
    summary = import_window(owner, FIRST_DAY, LAST_DAY)

    stored = Transaction.objects.filter(owner=owner)
    assert stored.count() == len(shop.transactions) == summary.inserted
    assert summary.pages == -(-len(shop.transactions) // 100)
    big = max(tx.id for tx in shop.transactions)
    assert big > 2**31 and stored.filter(id=big).exists()
    states = dict(stored.values_list("id", "deduction_state"))
    for tx in shop.transactions:
        if not tx.is_sale:
            assert states[tx.id] == DeductionState.NOT_A_SALE
        elif tx.machine_item_id is None:
            assert states[tx.id] in (DeductionState.NO_ITEM, DeductionState.NOT_A_SALE)
        elif tx.machine_item_id > RECIPE_ITEMS:
            assert states[tx.id] in (DeductionState.NEEDS_RECIPE, DeductionState.NOT_A_SALE)
    assert summary.needs_recipe == stored.filter(deduction_state="needs_recipe").count() > 0
    # Vendista's naive times are Moscow time, stored as UTC instants.
    sample = shop.transactions[0]
    row = stored.get(id=sample.id)
    assert row.time.astimezone(MOSCOW).strftime("%Y-%m-%dT%H:%M:%S") == sample.time[:19]


def test_import_deducts_exactly_the_recipes_of_the_window_sales(sandbox, shop, owner):
    before = machine_stock(owner)
    import_window(owner, FIRST_DAY, LAST_DAY)

    assert used_since(before, machine_stock(owner)) == expected_use(
        shop, owner, FIRST_DAY, LAST_DAY
    )
    deducted = Transaction.objects.filter(owner=owner, deduction_state="deducted")
    assert deducted.count() > 100
    # One change-log row per inventory row per page, never one per sale.
    sale_logs = InventoryChange.objects.filter(owner=owner, source=ChangeSource.SALE)
    assert 0 < sale_logs.count() < deducted.count()


def test_reimport_of_overlapping_windows_never_deducts_twice(sandbox, shop, owner):
    before = machine_stock(owner)
    import_window(owner, FIRST_DAY, LAST_DAY - timedelta(days=1))
    import_window(owner, FIRST_DAY + timedelta(days=1), LAST_DAY)
    second = import_window(owner, FIRST_DAY, LAST_DAY)

    assert second.inserted == 0 and second.deducted == 0
    assert second.updated == len(shop.transactions)
    assert used_since(before, machine_stock(owner)) == expected_use(
        shop, owner, FIRST_DAY, LAST_DAY
    )


@pytest.mark.parametrize("shape", ["flag", "refund_row"])
def test_a_reversal_restores_the_sale_once(sandbox, shop, owner, shape):
    import_window(owner, FIRST_DAY, LAST_DAY)
    sale = Transaction.objects.filter(
        owner=owner, deduction_state="deducted", machine_item_id=3
    ).first()
    assert sale is not None
    stock = machine_stock(owner)

    refund_time = sale.time.astimezone(MOSCOW).replace(tzinfo=None) + timedelta(minutes=1)
    sandbox.reverse(sale.id, shape=shape, login=shop.login, at=refund_time)
    first = import_window(owner, FIRST_DAY, LAST_DAY)
    import_window(owner, FIRST_DAY, LAST_DAY)

    assert first.restored == 1
    after = machine_stock(owner)
    assert {key: after[key] - stock[key] for key in stock if after[key] != stock[key]} == {
        (sale.terminal_id, name): quantity for name, quantity in recipe_for(3).items()
    }
    sale.refresh_from_db()
    assert sale.restored_at is not None
    assert (
        InventoryChange.objects.filter(owner=owner, source=ChangeSource.SALE_REVERSAL).count() == 3
    )


@pytest.mark.parametrize("shape", ["flag", "refund_row"])
def test_a_refund_after_a_recipe_change_restores_what_the_sale_deducted(
    sandbox, shop, owner, shape
):
    import_window(owner, FIRST_DAY, LAST_DAY)
    sale = Transaction.objects.filter(
        owner=owner, deduction_state="deducted", machine_item_id=3
    ).first()
    assert sale is not None
    terminal_id = sale.terminal_id
    assert terminal_id is not None and sale.deducted_items is not None
    rows = dict(
        Inventory.objects.filter(
            owner=owner, terminal_id=terminal_id, location=Location.MACHINE
        ).values_list("item_name", "id")
    )
    recorded = {item["inventory_id"]: item["quantity"] for item in sale.deducted_items}
    assert recorded == {rows[name]: f"{qty:.3f}" for name, qty in recipe_for(3).items()}
    # The recipe changes after the sale: 3 g of coffee becomes 30 g, the cup is dropped.
    recipe = Recipe.objects.get(terminal_id=terminal_id, machine_item_id=3)
    recipe.items.filter(item_name="Стаканы").delete()
    recipe.items.filter(item_name="Кофе").update(quantity=Decimal(30))
    stock = machine_stock(owner)

    refund_time = sale.time.astimezone(MOSCOW).replace(tzinfo=None) + timedelta(minutes=1)
    sandbox.reverse(sale.id, shape=shape, login=shop.login, at=refund_time)
    first = import_window(owner, FIRST_DAY, LAST_DAY)
    second = import_window(owner, FIRST_DAY, LAST_DAY)

    assert (first.restored, second.restored) == (1, 0)
    after = machine_stock(owner)
    assert {key: after[key] - stock[key] for key in stock if after[key] != stock[key]} == {
        (sale.terminal_id, "Кофе"): Decimal(3),
        (sale.terminal_id, "Вода"): Decimal(100),
        (sale.terminal_id, "Стаканы"): Decimal(1),
    }


def test_a_refund_of_a_sale_deducted_before_recording_goes_by_the_recipe(sandbox, shop, owner):
    import_window(owner, FIRST_DAY, LAST_DAY)
    sale = Transaction.objects.filter(
        owner=owner, deduction_state="deducted", machine_item_id=2
    ).first()
    assert sale is not None
    Transaction.objects.filter(pk=sale.pk).update(deducted_items=None)
    stock = machine_stock(owner)

    refund_time = sale.time.astimezone(MOSCOW).replace(tzinfo=None) + timedelta(minutes=1)
    sandbox.reverse(sale.id, shape="flag", login=shop.login, at=refund_time)
    assert import_window(owner, FIRST_DAY, LAST_DAY).restored == 1

    after = machine_stock(owner)
    assert {key: after[key] - stock[key] for key in stock if after[key] != stock[key]} == {
        (sale.terminal_id, name): quantity for name, quantity in recipe_for(2).items()
    }


def test_an_import_refreshes_the_forecast_of_every_machine_container(sandbox, shop, owner):
    import_window(owner, FIRST_DAY, LAST_DAY)

    containers = Inventory.objects.filter(
        owner=owner, location=Location.MACHINE, terminal__is_active=True
    )
    forecasts = Forecast.objects.filter(owner=owner)
    assert set(forecasts.values_list("inventory_id", flat=True)) == set(
        containers.values_list("id", flat=True)
    )
    # Forecast as of the day after the window, its coffee use is what the window's sales took
    # (three online days, the same recipes on every terminal).
    use = expected_use(shop, owner, FIRST_DAY, LAST_DAY)
    as_of = forecast_containers(owner.pk, today=LAST_DAY + timedelta(days=1))
    coffee = {f.terminal_id: f for f in as_of.values() if f.item_name == "Кофе"}
    for (terminal_id, name), quantity in use.items():
        if name == "Кофе":
            assert coffee[terminal_id].days_of_history >= 1
            assert coffee[terminal_id].daily_use > 0 and quantity > 0


def test_a_sale_whose_refund_was_stored_first_is_never_deducted(sandbox, shop, owner):
    import_window(owner, FIRST_DAY, LAST_DAY)
    newest = max(shop.transactions, key=lambda tx: tx.time)
    sale = next(
        tx
        for tx in shop.transactions
        if tx.is_sale and tx.machine_item_id == 2 and tx is not newest
    )
    Transaction.objects.filter(id=sale.id).delete()  # as if its page had never been read
    refund_time = datetime.fromisoformat(sale.time[:19]) + timedelta(minutes=1)
    sandbox.reverse(sale.id, shape="refund_row", login=shop.login, at=refund_time)
    stock = machine_stock(owner)

    import_window(owner, FIRST_DAY, LAST_DAY)

    assert Transaction.objects.get(id=sale.id).deduction_state == DeductionState.NOT_A_SALE
    assert machine_stock(owner) == stock


def test_stock_is_clamped_at_zero(sandbox, shop, owner):
    Inventory.objects.filter(owner=owner, location=Location.MACHINE, item_name="Кофе").update(
        current_stock=Decimal(5)
    )
    import_window(owner, FIRST_DAY, LAST_DAY)

    selling = Transaction.objects.filter(owner=owner, deduction_state="deducted").values(
        "terminal_id"
    )
    coffee = Inventory.objects.filter(
        owner=owner, location=Location.MACHINE, item_name="Кофе", terminal_id__in=selling
    )
    assert coffee.exists()
    assert set(coffee.values_list("current_stock", flat=True)) == {Decimal(0)}
    assert not Inventory.objects.filter(current_stock__lt=0).exists()


def test_needs_recipe_sales_are_marked_per_terminal_and_item(sandbox, shop, owner):
    import_window(owner, FIRST_DAY, LAST_DAY)

    needing = set(
        Transaction.objects.filter(owner=owner, deduction_state="needs_recipe").values_list(
            "terminal_id", "machine_item_id"
        )
    )
    recipes = set(Recipe.objects.values_list("terminal_id", "machine_item_id"))
    assert needing and not (needing & recipes)
    assert {item for _terminal, item in needing} == {6}


def test_historical_import_stores_without_deducting_or_tasks(sandbox, shop, owner):
    before = machine_stock(owner)
    summary = import_window(owner, FIRST_DAY, LAST_DAY, historical=True)
    regular = import_window(owner, FIRST_DAY, LAST_DAY)

    assert summary.inserted == len(shop.transactions)
    assert machine_stock(owner) == before
    assert regular.deducted == 0
    assert not Task.objects.exists()
    states = set(Transaction.objects.values_list("deduction_state", flat=True))
    assert states == {DeductionState.HISTORICAL, DeductionState.NOT_A_SALE}


def test_critical_stock_opens_one_restock_task_and_missing_rows_count(sandbox, shop, owner):
    terminal = Terminal.objects.filter(owner=owner).order_by("id").first()
    Inventory.objects.filter(terminal=terminal, location=Location.MACHINE).update(
        current_stock=Decimal(100_000), critical_stock=Decimal(10)
    )
    Inventory.objects.filter(terminal=terminal, item_name="Стаканы").update(
        current_stock=Decimal(40), critical_stock=Decimal(30)
    )
    Inventory.objects.filter(terminal=terminal, item_name="Вода").delete()  # not configured

    import_window(owner, FIRST_DAY, LAST_DAY)

    task = Task.objects.get(terminal=terminal, status=TaskStatus.PENDING)
    assert task.is_auto and task.assignee is None
    assert task.details["missing_items"] == ["Вода"]
    assert set(task.details["critical_items"]) == {"Вода", "Стаканы"}
    assert Task.objects.filter(terminal=terminal).count() == 1


def test_items_turning_critical_later_extend_the_open_task(sandbox, shop, owner):
    terminal = Terminal.objects.filter(owner=owner).order_by("id").first()
    machine = Inventory.objects.filter(terminal=terminal, location=Location.MACHINE)
    machine.update(current_stock=Decimal(10**6), critical_stock=Decimal(10))
    machine.filter(item_name="Стаканы").update(current_stock=Decimal(5))
    import_window(owner, FIRST_DAY, LAST_DAY - timedelta(days=1))
    task = Task.objects.get(terminal=terminal, status=TaskStatus.PENDING)
    assert task.details["critical_items"] == ["Стаканы"]

    machine.filter(item_name="Кофе").update(current_stock=Decimal(11))
    import_window(owner, FIRST_DAY, LAST_DAY)

    task.refresh_from_db()
    assert task.details["critical_items"] == ["Кофе", "Стаканы"]
    assert Task.objects.filter(terminal=terminal).count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_open_restock_task_per_terminal_under_concurrent_evaluations(sandbox, shop):
    owner = connect_owner(shop)
    sync(owner)
    configure(owner, stock=Decimal(0))  # every container is at or below critical
    terminal_ids = list(Terminal.objects.filter(owner=owner).values_list("id", flat=True))
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def evaluate() -> None:
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                evaluate_restock(owner.pk, terminal_ids)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    for terminal_id in terminal_ids:
        assert Task.objects.filter(terminal_id=terminal_id, status="pending").count() == 1


def test_401_refreshes_the_token_once_and_retries_with_the_new_one(sandbox, shop, owner):
    old_token = crypto.decrypt(VendistaAccount.objects.get(owner=owner).token_encrypted)
    sandbox.reset_request_log()
    sandbox.set_faults(expire_token_after=2)

    summary = import_window(owner, FIRST_DAY, LAST_DAY)

    log = sandbox.request_log()
    refused = [i for i, r in enumerate(log) if r.status == 401]
    assert refused
    tokens = {old_token}
    for i in refused:
        # Each 401 is followed by one /token call and the same request with the new token.
        assert log[i + 1].path == "/token" and log[i + 1].status == 200
        retry = log[i + 2]
        assert retry.path == log[i].path and retry.params == log[i].params
        assert retry.status == 200 and retry.token not in tokens
        tokens.add(retry.token)
    new_token = crypto.decrypt(VendistaAccount.objects.get(owner=owner).token_encrypted)
    assert new_token == log[-1].token != old_token
    assert summary.fetched == len(shop.transactions)
    assert VendistaAccount.objects.get(owner=owner).token_status == "valid"


def test_a_second_401_after_the_refresh_fails_the_run_as_expired(sandbox, shop, owner):
    sandbox.set_faults(expire_token_after=0)  # every token is refused at once

    summary = runs.run_now(owner.pk, window=window(FIRST_DAY, LAST_DAY), trigger="test")

    assert summary.status == RunStatus.FAILED
    assert "token refused" in summary.error
    assert VendistaAccount.objects.get(owner=owner).token_status == "expired"


def test_wrong_stored_credentials_mark_invalid_creds(sandbox, shop, owner):
    account = VendistaAccount.objects.get(owner=owner)
    accounts.set_credentials(account, shop.login, "wrong-password", token="stale")

    summary = runs.run_now(owner.pk, window=window(FIRST_DAY, LAST_DAY), trigger="test")

    assert summary.status == RunStatus.FAILED
    account.refresh_from_db()
    assert account.token_status == "invalid_creds"
    assert accounts.importable_owner_ids() == []


def test_429_honours_retry_after(sandbox, shop, owner):
    sandbox.set_faults(rate_limit_per_s=2, retry_after_s=1)
    sandbox.reset_request_log()

    summary = import_window(owner, FIRST_DAY, LAST_DAY)

    log = sandbox.request_log()
    limited = [i for i, r in enumerate(log) if r.status == 429]
    assert limited, "the sandbox never limited the client"
    for i in limited:
        later = [r for r in log[i + 1 :] if r.params == log[i].params and r.status == 200]
        assert later and later[0].timestamp - log[i].timestamp >= 0.99
    assert summary.status == "succeeded"


def test_a_5xx_page_is_retried(sandbox, shop, owner):
    sandbox.fail_next("/transactions", page=3, status=503, times=1)
    sandbox.reset_request_log()

    summary = import_window(owner, FIRST_DAY, LAST_DAY)

    page3 = [
        r.status for r in sandbox.request_log("/transactions") if r.params["PageNumber"] == "3"
    ]
    assert page3 == [503, 200]
    assert summary.inserted == len(shop.transactions)


def test_a_page_failing_past_the_retries_keeps_earlier_pages_committed(sandbox, shop, owner):
    sandbox.fail_next("/transactions", page=3, status=502, times=50)

    with pytest.raises(VendistaUnavailable):
        runs.run_now(owner.pk, window=window(FIRST_DAY, LAST_DAY), trigger="test")

    assert Transaction.objects.filter(owner=owner).count() == 200
    run = ImportRun.objects.filter(owner=owner, kind="import").latest("id")
    # The operator command leaves its run failed (never queued with no task behind it), with
    # the page it would resume at.
    assert run.pages_done == 2 and run.status == RunStatus.FAILED and run.next_page == 3
    assert "503" in run.error or "502" in run.error
    # ... so nothing blocks the owner: the same window can be imported again at once.
    sandbox.reset_faults()
    summary = runs.run_now(owner.pk, window=window(FIRST_DAY, LAST_DAY), trigger="test")
    assert summary.status == RunStatus.SUCCEEDED


def test_unknown_terminal_sales_are_kept_and_deducted_once_the_terminal_is_synced(
    sandbox, shop, owner
):
    busiest = Counter(tx.term_id for tx in shop.transactions if tx.is_sale).most_common(1)[0][0]
    hidden = Terminal.objects.get(owner=owner, vendista_id=busiest)
    vendista_id = hidden.vendista_id
    hidden.delete()
    # The sandbox keeps listing it, so the import's own sync would find it: hide it there too.
    account = sandbox.account(shop.login)
    listed = account.terminals
    account.terminals = [t for t in listed if t.id != vendista_id]
    import_window(owner, FIRST_DAY, LAST_DAY)
    waiting = Transaction.objects.filter(owner=owner, deduction_state="unknown_terminal")
    assert waiting.exists()
    assert set(waiting.values_list("vendista_terminal_id", flat=True)) == {vendista_id}

    # Staff set the terminal up (containers, recipes) before the next sync names it.
    account.terminals = listed
    terminal = Terminal.objects.create(owner=owner, vendista_id=vendista_id, name="Новая")
    create_default_containers(owner.pk, [terminal.pk])
    Inventory.objects.filter(terminal=terminal).update(current_stock=Decimal(10**6))
    for item in range(1, RECIPE_ITEMS + 1):
        recipe = Recipe.objects.create(terminal=terminal, machine_item_id=item, name="x")
        for name, quantity in recipe_for(item).items():
            recipe.items.create(item_name=name, quantity=quantity)
    before = machine_stock(owner)
    sync(owner)
    sync(owner)

    assert not waiting.exists()
    resolved = Transaction.objects.filter(
        owner=owner, terminal=terminal, deduction_state="deducted"
    )
    assert resolved.exists() and not resolved.filter(deducted_items__isnull=True).exists()
    use = used_since(before, machine_stock(owner))
    expected = {
        key: value
        for key, value in expected_use(shop, owner, FIRST_DAY, LAST_DAY).items()
        if key[0] == terminal.pk
    }
    assert use == expected


def test_402_suspends_the_owner_and_audits_once(sandbox, shop, owner):
    sandbox.set_unpaid(shop.login)

    summary = runs.run_now(owner.pk, window=window(FIRST_DAY, LAST_DAY), trigger="test")
    again = runs.run_now(owner.pk, window=window(FIRST_DAY, LAST_DAY), trigger="test")

    assert summary.status == RunStatus.FAILED and "402" in summary.error
    assert again.status == RunStatus.SKIPPED
    account = VendistaAccount.objects.get(owner=owner)
    assert account.payment_status == PaymentStatus.PAYMENT_REQUIRED
    assert account.payment_required_at is not None
    assert AuditEntry.objects.filter(action="vendista.payment_required").count() == 1
    assert accounts.importable_owner_ids() == []


@pytest.mark.django_db(transaction=True)
def test_402_marks_payment_required_once_when_two_workers_race(sandbox, shop, settings):
    settings.ADMIN_TELEGRAM_CHAT_ID = "-100500"
    owner = connect_owner(shop)
    barrier = threading.Barrier(6)
    results: list[bool] = []

    def hit_402() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(
                accounts.mark_payment_required(owner.pk, source="import", error="HTTP 402")
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=hit_402) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == [False] * 5 + [True]
    assert AuditEntry.objects.filter(action="vendista.payment_required").count() == 1
    # The admin's notice was handed to Telegram delivery exactly once.
    notices = Delivery.objects.filter(template="payment_required")
    assert notices.count() == 1
    assert notices.get().recipient == "-100500"


def test_payment_check_reactivates_only_when_token_and_data_call_work(sandbox, shop, owner):
    sandbox.set_unpaid(shop.login)
    accounts.mark_payment_required(owner.pk, source="import", error="HTTP 402")

    assert accounts.check_payment_status(owner.pk) is False
    assert VendistaAccount.objects.get(owner=owner).payment_status == "payment_required"

    sandbox.set_unpaid(shop.login, False)
    sandbox.reset_request_log()
    assert accounts.check_payment_status(owner.pk) is True

    account = VendistaAccount.objects.get(owner=owner)
    assert account.payment_status == "active" and account.payment_required_at is None
    paths = [r.path for r in sandbox.request_log()]
    assert paths[:2] == ["/token", "/terminals"]
    assert crypto.decrypt(account.token_encrypted) == sandbox.request_log()[1].token
    assert AuditEntry.objects.filter(action="vendista.reactivated").count() == 1


def test_terminal_sync_creates_default_containers_and_deactivates_missing(sandbox, shop, owner):
    terminals = Terminal.objects.filter(owner=owner)
    assert terminals.count() == len(shop.terminals)
    first = terminals.order_by("id").first()
    machine = Inventory.objects.filter(terminal=first, location=Location.MACHINE)
    assert machine.count() == 13
    assert machine.get(item_name="Вода").max_stock == Decimal(38000)
    account = sandbox.account(shop.login)
    listed = len(account.terminals)
    gone = account.terminals.pop()

    sync(owner)

    assert not Terminal.objects.get(owner=owner, vendista_id=gone.id).is_active
    assert terminals.filter(is_active=True).count() == listed - 1
    offline = [t.id for t in account.terminals if not t.online]
    assert set(
        terminals.filter(is_online=False, is_active=True).values_list("vendista_id", flat=True)
    ) == set(offline)


def test_an_empty_terminal_list_does_not_deactivate_everything(sandbox, shop, owner):
    listed = len(shop.terminals)
    sandbox.account(shop.login).terminals = []
    sync(owner)
    assert Terminal.objects.filter(owner=owner, is_active=True).count() == listed == 3


def test_runs_are_recorded_with_counts_and_timings(sandbox, shop, owner):
    summary = import_window(owner, FIRST_DAY, LAST_DAY)

    run = ImportRun.objects.get(pk=summary.run_id)
    assert run.status == RunStatus.SUCCEEDED and run.trigger == "test"
    assert run.pages_done == run.pages_total == summary.pages
    assert run.fetched == len(shop.transactions)
    assert run.deducted == Transaction.objects.filter(deduction_state="deducted").count()
    assert run.started_at is not None and run.finished_at is not None
    assert run.started_at <= run.finished_at
    assert (run.date_from, run.date_to) == window(FIRST_DAY, LAST_DAY)


def test_scheduled_ticks_are_deduplicated_per_owner(sandbox, shop, owner):
    first = runs.create_run(owner.pk, window=window(FIRST_DAY, LAST_DAY), trigger="t")
    second = runs.create_run(owner.pk, window=window(FIRST_DAY, LAST_DAY), trigger="t")
    covered = runs.create_run(
        owner.pk, window=window(LAST_DAY, LAST_DAY), trigger="daily", skip_if_active=False
    )
    wider = runs.create_run(
        owner.pk,
        window=window(FIRST_DAY - timedelta(days=5), LAST_DAY),
        trigger="weekly",
        skip_if_active=False,
    )

    assert first is not None and second is None and covered is None
    assert wider is not None


def test_owner_lock_keeps_two_attempts_of_one_owner_apart(sandbox, shop, owner):
    with owner_lock(owner.pk, "run:1"):
        with pytest.raises(OwnerBusy), owner_lock(owner.pk, "run:2"):
            pass
        # A second attempt of the same run (a redelivered task) waits too: the first may live.
        with pytest.raises(OwnerBusy), owner_lock(owner.pk, "run:1"):
            pass
    with owner_lock(owner.pk, "run:2"):
        pass


def test_window_kinds_are_moscow_days(settings):
    from datetime import datetime

    now = datetime(2026, 11, 29, 1, 30, tzinfo=MOSCOW)
    start, end = runs.window_for("previous_day_and_today", now=now)
    assert start == datetime(2026, 11, 28, 0, 0, tzinfo=MOSCOW) and end == now
    start, _ = runs.window_for("last_24h", now=now)
    assert now - start == timedelta(hours=24)
    start, _ = runs.window_for("history", now=now, setup=date(2025, 3, 1))
    assert start == datetime(2025, 3, 1, tzinfo=MOSCOW)


def test_unknown_terminal_sales_of_a_terminal_without_recipes_need_one(sandbox, shop, owner):
    busiest = Counter(tx.term_id for tx in shop.transactions if tx.is_sale).most_common(1)[0][0]
    Terminal.objects.filter(owner=owner, vendista_id=busiest).delete()
    account = sandbox.account(shop.login)
    listed = account.terminals
    account.terminals = [t for t in listed if t.id != busiest]
    import_window(owner, FIRST_DAY, LAST_DAY)
    account.terminals = listed

    sync(owner)

    rows = Transaction.objects.filter(owner=owner, vendista_terminal_id=busiest)
    states = set(
        rows.filter(machine_item_id__isnull=False).values_list("deduction_state", flat=True)
    )
    assert states <= {DeductionState.NEEDS_RECIPE, DeductionState.NOT_A_SALE}
    assert DeductionState.NEEDS_RECIPE in states
    terminal = Terminal.objects.get(owner=owner, vendista_id=busiest)
    assert set(rows.values_list("terminal_id", flat=True)) == {terminal.pk}


@pytest.mark.django_db(transaction=True)
def test_two_owners_importing_at_once_share_the_overall_limit(sandbox, shop, vendista_settings):
    """Per-owner limits are generous here; the overall one (4 requests/s) binds both owners."""
    from django.db import connections

    vendista_settings.VENDISTA_RATE_GLOBAL = 4.0
    second = generate_account(
        "other-login",
        "other-password",
        seed="other",
        terminals=2,
        days=3,
        per_day=120,
        machine_items=6,
        end=LAST_DAY,
    )
    sandbox.add_account(second)
    owners = [connect_owner(shop, "Первый"), connect_owner(second, "Второй")]
    sandbox.reset_request_log()
    errors: list[BaseException] = []
    started = time.time()  # the sandbox notes each request on this clock, after its token

    def run(owner_id: int) -> None:
        try:
            runs.run_now(owner_id, window=window(FIRST_DAY, LAST_DAY), trigger="test")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(owner.pk,)) for owner in owners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    log = sandbox.request_log()
    stamps = sorted(r.timestamp for r in log)
    assert len(stamps) >= 12
    # A bucket of 4 tokens refilled at 4/s: after the first 4, one request per quarter second,
    # counted from before the first token (a request may reach the sandbox late, never early).
    assert stamps[-1] - started >= (len(stamps) - 4) / 4
    logins = {r.params.get("login") for r in log if r.path == "/token"}
    assert logins == {"shop-login", "other-login"}


def test_one_owner_is_paced_at_its_own_limit(sandbox, shop, owner, vendista_settings):
    vendista_settings.VENDISTA_RATE_PER_TOKEN = 5.0
    sandbox.reset_request_log()
    started = time.time()  # the sandbox notes each request on this clock, after its token

    import_window(owner, FIRST_DAY, LAST_DAY)

    stamps = sorted(r.timestamp for r in sandbox.request_log("/transactions"))
    assert len(stamps) >= 4
    # 5 requests/s for this owner's token (one token saved up at most): the k-th request took
    # a token at least k/5 s after the start. A request reaches the sandbox some time after its
    # token, so two neighbours may arrive closer than 1/5 s, yet never nearly together.
    assert all(stamp - started >= k / 5.0 for k, stamp in enumerate(stamps))
    gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    assert min(gaps) >= 0.25 / 5.0
