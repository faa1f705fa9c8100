"""The cabinet in a real browser (Debian chromium via Playwright) against a live server, as the
three demo logins: what each signs in to, sees and does. Every screen is screenshotted under
`var/screenshots/cabinet-*.png` and checked by axe-core (serious or critical fails)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from inventory.models import ChangeSource, Inventory, InventoryChange, Recipe
from tasks_app.models import Task, TaskStatus
from tasks_app.services import evaluate_restock
from tenancy.models import Owner
from tests.helpers.browser import LANDSCAPE, SCREENSHOTS, chromium, describe, serious_violations
from vendista.models import Terminal, Transaction

pytestmark = pytest.mark.django_db(transaction=True)

LOGINS = {
    "demo-owner": "owner-demo-2026",
    "demo-admin": "admin-demo-2026",
    "demo-service": "service-demo-2026",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def demo(live_server) -> Owner:
    call_command("seed_demo")
    owner = Owner.objects.get(memberships__user__username="demo-owner")
    # The first terminal's cups run out (below their critical level), as sales would make them.
    first = Terminal.objects.filter(owner=owner).order_by("id").first()
    assert first is not None
    Inventory.objects.filter(terminal=first, location="machine", item_name="Стаканы").update(
        current_stock=F("critical_stock") - 1
    )
    Transaction.objects.create(
        id=7_000_000_001,
        owner=owner,
        terminal=first,
        vendista_terminal_id=first.vendista_id,
        machine_item_id=1,
        amount=15000,
        time=timezone.now(),
        result="1",
        deduction_state="deducted",
    )
    return owner


@pytest.fixture
def sign_in(browser: Browser, live_server, demo):
    contexts = []
    errors: list[str] = []

    def opener(username: str) -> Page:
        context = browser.new_context(viewport=LANDSCAPE, locale="ru-RU", accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}/")  # `/` leads to the admin's login
        page.fill("#id_username", username)
        page.fill("#id_password", LOGINS[username])
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")
        return page

    yield opener
    for context in contexts:
        context.close()
    assert not errors, f"script errors: {errors}"


def screen(page: Page, name: str) -> None:
    """Screenshot the whole page and fail on serious accessibility problems."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"cabinet-{name}.png"), full_page=True)
    violations = serious_violations(page)
    assert not violations, f"{name}:\n{describe(violations)}"


def check_dashboard(page: Page, name: str) -> None:
    expect(page.locator("article.cab-card[data-terminal]")).to_have_count(4)
    assert page.locator(".cab-fill").count() >= 4 * 10  # a bar per machine container
    expect(page.locator(".cab-fill-critical").first).to_be_visible()  # the cups
    screen(page, f"{name}-dashboard")


def edit_recipe(page: Page, live_server, demo: Owner, name: str) -> None:
    recipe = Recipe.objects.filter(terminal__owner=demo).order_by("id").first()
    assert recipe is not None
    item = recipe.items.order_by("item_name").first()
    assert item is not None
    page.goto(f"{live_server.url}/admin/inventory/recipe/{recipe.pk}/change/")
    screen(page, f"{name}-recipe")
    page.fill("#id_items-0-quantity", "11.5")
    page.click("button[name=_save]")
    page.wait_for_url("**/admin/inventory/recipe/")
    assert recipe.items.get(item_name=item.item_name).quantity == Decimal("11.5")


def move_stock(page: Page, live_server, demo: Owner, name: str) -> None:
    terminal = Terminal.objects.filter(owner=demo).order_by("id").first()
    assert terminal is not None
    page.goto(f"{live_server.url}/admin/inventory/inventory/")
    screen(page, f"{name}-stock")
    page.click("text=Переместить остатки")
    page.select_option("#id_source", f"warehouse:{demo.pk}")
    page.select_option("#id_destination", f"stand:{terminal.pk}")
    page.select_option("#id_item_name", "Кофе")
    page.fill("#id_quantity", "500")
    screen(page, f"{name}-transfer")
    page.click("form.cab-form button[type=submit]")
    page.wait_for_url("**/admin/inventory/inventory/")
    stand = Inventory.objects.get(terminal=terminal, location="stand", item_name="Кофе")
    assert stand.current_stock == Decimal(500)
    assert InventoryChange.objects.filter(
        owner=demo, source=ChangeSource.TRANSFER_IN, terminal=terminal, item_name="Кофе"
    ).exists()


def download_csv(page: Page, live_server, path: str, header: str, name: str) -> None:
    page.goto(f"{live_server.url}{path}")
    screen(page, f"{name}-list")
    with page.expect_download() as download:
        page.click("text=Скачать CSV")
    with open(download.value.path(), encoding="utf-8-sig") as handle:
        content = handle.read()
    lines = content.splitlines()
    assert lines[0].startswith(header), content[:200]
    assert len(lines) >= 2, content[:200]  # the owner's rows follow the header


def test_demo_owner_sees_the_dashboard_edits_a_recipe_moves_stock_and_downloads_csv(
    sign_in, live_server, demo
) -> None:
    page = sign_in("demo-owner")
    check_dashboard(page, "owner")
    expect(page.get_by_role("heading", name="Подключения Vendista")).to_be_visible()
    edit_recipe(page, live_server, demo, "owner")
    move_stock(page, live_server, demo, "owner")
    download_csv(page, live_server, "/admin/vendista/transaction/", "ID в Vendista", "owner-sales")


def test_demo_admin_does_the_same_but_never_sees_the_vendista_credentials(
    sign_in, live_server, demo
) -> None:
    page = sign_in("demo-admin")
    check_dashboard(page, "admin")
    expect(page.get_by_role("heading", name="Подключения Vendista")).to_have_count(0)
    edit_recipe(page, live_server, demo, "admin")
    move_stock(page, live_server, demo, "admin")
    download_csv(page, live_server, "/admin/inventory/inventorychange/", "Время", "admin-log")
    response = page.goto(f"{live_server.url}/admin/vendista/vendistaaccount/")
    assert response is not None and response.status == 403


def test_demo_service_completes_a_restock_task_and_has_no_finance(
    sign_in, live_server, demo
) -> None:
    first = Terminal.objects.filter(owner=demo).order_by("id").first()
    assert first is not None
    Terminal.objects.filter(pk=first.pk).update(sales_since_cleaning=57)
    evaluate_restock(demo.pk, [first.pk])  # the cups are nearly out: a restock task opens
    task = Task.objects.get(terminal=first, status=TaskStatus.PENDING, task_type="restock")
    page = sign_in("demo-service")
    expect(page.locator("article.cab-card[data-terminal]")).to_have_count(4)
    expect(page.locator("text=Продажи сегодня")).to_have_count(0)
    assert page.locator("#nav-sidebar, nav").first.inner_text().count("Транзакции") == 0
    screen(page, "service-dashboard")
    page.goto(f"{live_server.url}/admin/tasks_app/task/{task.pk}/change/")
    screen(page, "service-task")
    page.click("a:has-text('Завершить')")
    page.wait_for_url(f"**/admin/tasks_app/task/{task.pk}/complete/")
    page.fill("[name='item:Стаканы']", "90")
    screen(page, "service-complete")
    page.click("form.cab-form button[type=submit]")
    page.wait_for_url("**/admin/tasks_app/task/")
    task.refresh_from_db()
    assert task.status == TaskStatus.COMPLETED
    assert InventoryChange.objects.filter(
        terminal=first, source=ChangeSource.RESTOCK_TASK, item_name="Стаканы", quantity_after=90
    ).exists()
    assert Terminal.objects.get(pk=first.pk).sales_since_cleaning == 0
    for path in ("/admin/vendista/transaction/", "/admin/vendista/expense/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 403, path
