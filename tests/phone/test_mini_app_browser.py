"""The Mini App in Debian chromium at 390×844 (a phone), against a live server: a service worker
opens it with initData signed in the test with the bot token (as Telegram signs it), sees their
tasks in route order, completes one with loaded amounts and a photo; the stock, change log and
counter change exactly as a completion through the API does. Forged or stale initData is
refused. Screens are checked by axe-core and saved under var/screenshots/."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.db.models import F
from PIL import Image
from playwright.sync_api import Browser, Page, ViewportSize, expect

from inventory.models import ChangeSource, Inventory, InventoryChange, Location
from inventory.services import create_default_containers
from notifications.models import TelegramChat
from tasks_app.models import Task, TaskStatus, TerminalAssignment
from tenancy.models import Owner, Role
from tests.helpers.browser import SCREENSHOTS, chromium, describe, serious_violations
from tests.helpers.telegram import TOKEN, make_person, make_terminal, unique_chat_id
from tests.helpers.tenancy import make_tenant
from vendista.models import Terminal

pytestmark = pytest.mark.django_db(transaction=True)

PHONE: ViewportSize = {"width": 390, "height": 844}
MIN_TARGET_PX = 48


def init_data(telegram_id: int, *, token: str = TOKEN, auth_date: int | None = None) -> str:
    """initData as Telegram builds it: the fields, and `hash` = HMAC-SHA256 of the sorted
    `key=value` lines under HMAC-SHA256("WebAppData", bot token)."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(
            {"id": telegram_id, "first_name": "Пётр", "username": "petr", "language_code": "ru"},
            ensure_ascii=False,
            separators=(",", ":"),
        ),
        "auth_date": str(auth_date if auth_date is not None else int(time.time())),
    }
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields, quote_via=quote)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def phone(browser: Browser, live_server, settings, tmp_path):
    settings.TELEGRAM_BOT_TOKEN = TOKEN
    settings.MEDIA_ROOT = tmp_path
    contexts = []
    errors: list[str] = []

    def opener(fragment: str = "") -> Page:
        context = browser.new_context(viewport=PHONE, locale="ru-RU", has_touch=True)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}/app/{fragment}")
        return page

    yield opener
    for context in contexts:
        context.close()
    assert not errors, f"script errors in the Mini App: {errors}"


def check_phone_screen(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"mini-app-{name}.png"), full_page=True)
    violations = serious_violations(page)
    assert not violations, f"{name}:\n{describe(violations)}"
    small = page.evaluate(
        """(min) => Array.from(document.querySelectorAll('button, input, a'))
            .filter((el) => el.offsetParent !== null)
            .filter((el) => { const r = el.getBoundingClientRect();
                              return r.height < min || r.width < min; })
            .map((el) => el.id || el.textContent.trim())""",
        MIN_TARGET_PX,
    )
    assert not small, f"{name}: touch targets under {MIN_TARGET_PX} px: {small}"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _terminal_with_containers(owner: Owner, name: str, route: int, worker) -> Terminal:
    terminal = make_terminal(owner, name)
    create_default_containers(owner.pk, [terminal.pk])
    machine = Inventory.objects.filter(terminal=terminal, location=Location.MACHINE)
    machine.update(current_stock=F("max_stock") * Decimal("0.8"))
    machine.filter(item_name="Кофе").update(current_stock=Decimal(100))
    Terminal.objects.filter(pk=terminal.pk).update(sales_since_cleaning=57)
    TerminalAssignment.objects.create(
        terminal=terminal, restock_assignee=worker, route_position=route
    )
    return terminal


def _auto_task(owner: Owner, terminal: Terminal, worker) -> Task:
    return Task.objects.create(
        owner=owner,
        terminal=terminal,
        assignee=worker,
        is_auto=True,
        details={"critical_items": ["Кофе", "Сироп"], "missing_items": ["Сироп"]},
    )


def _photo(path: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 80, 40)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def _stock(terminal: Terminal) -> dict[str, Decimal]:
    return dict(
        Inventory.objects.filter(terminal=terminal, location=Location.MACHINE).values_list(
            "item_name", "current_stock"
        )
    )


def _changes(terminal: Terminal) -> set[tuple[str, Decimal, Decimal]]:
    return set(
        InventoryChange.objects.filter(
            terminal=terminal, source=ChangeSource.RESTOCK_TASK
        ).values_list("item_name", "quantity_before", "quantity_after")
    )


def test_service_worker_completes_a_task_with_amounts_and_a_photo(phone, tmp_path) -> None:
    owner = Owner.objects.create(name="Кофейня")
    worker = make_person(owner, Role.SERVICE, chat=False, name="Пётр")
    telegram_id = unique_chat_id()
    TelegramChat.objects.create(user=worker, chat_id=telegram_id)
    later = _terminal_with_containers(owner, "Бизнес-центр Нева", 2, worker)
    first = _terminal_with_containers(owner, "ТЦ Галерея", 1, worker)
    Task.objects.create(owner=owner, terminal=later, assignee=worker, comment="Привезти стаканы")
    task = _auto_task(owner, first, worker)

    page = phone(f"#tgWebAppData={quote(init_data(telegram_id))}&tgWebAppVersion=7.10")
    cards = page.locator("#tasks button.task")
    expect(cards).to_have_count(2)
    # Route order, not creation or name order.
    expect(cards.nth(0)).to_contain_text("1. ТЦ Галерея")
    expect(cards.nth(1)).to_contain_text("2. Бизнес-центр Нева")
    expect(cards.nth(0)).to_contain_text("Требуют пополнения: Кофе")
    expect(cards.nth(0)).to_contain_text("Не настроено: Сироп")
    expect(cards.nth(0)).to_contain_text("Взять с собой: Кофе 1400")
    check_phone_screen(page, "tasks")

    cards.nth(0).click()
    expect(page.locator("#task-terminal")).to_have_text("ТЦ Галерея")
    bars = page.locator("#containers [role=meter]")
    expect(bars).to_have_count(13)
    coffee = page.locator("#containers li.critical")
    expect(coffee).to_have_count(1)
    expect(coffee).to_contain_text("Кофе: 100 / 1500 г")  # with the unit
    inputs = page.locator("#amounts input")
    expect(inputs).to_have_count(13)
    expect(page.get_by_role("textbox", name="Кофе, г", exact=True)).to_have_value(
        "1500"
    )  # fills the container
    page.get_by_role("textbox", name="Вода, мл", exact=True).fill("15000")
    page.set_input_files("#photo", str(_photo(tmp_path / "machine.jpg")))
    check_phone_screen(page, "task")

    before = _stock(first)
    page.click("#submit")
    expect(page.locator("#done")).to_have_text("Задача выполнена.")
    expect(page.locator("#tasks button.task")).to_have_count(1)
    check_phone_screen(page, "after-completion")

    task.refresh_from_db()
    assert task.status == TaskStatus.COMPLETED and task.completed_by_id == worker.pk
    assert str(task.completion_photo.name).startswith("task-photos/")
    stored = Path(task.completion_photo.path)
    assert stored.is_file() and stored.is_relative_to(tmp_path)
    assert Image.open(stored).size == (64, 48)
    after = _stock(first)
    maxima = dict(
        Inventory.objects.filter(terminal=first, location=Location.MACHINE).values_list(
            "item_name", "max_stock"
        )
    )
    assert after == {**maxima, "Вода": Decimal(15000)}
    assert Terminal.objects.get(pk=first.pk).sales_since_cleaning == 0

    # The same entry through the API on a twin terminal changes exactly the same things.
    tenant = make_tenant(Role.SERVICE, owner=owner)
    twin = _terminal_with_containers(owner, "ТЦ Галерея (копия)", 3, tenant.user)
    twin_task = _auto_task(owner, twin, tenant.user)
    payload = [
        {"item_name": name, "current_stock": str(value)} for name, value in sorted(after.items())
    ]
    answer = tenant.client.post(
        f"/api/tasks/{twin_task.pk}/complete/", {"updated_stock": payload}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert _stock(twin) == after
    assert _changes(twin) == _changes(first)
    assert _changes(first) == {
        (name, before[name], after[name]) for name in after if before[name] != after[name]
    }
    assert Terminal.objects.get(pk=twin.pk).sales_since_cleaning == 0


@pytest.mark.parametrize("kind", ["forged", "stale", "other-bot", "unlinked"])
def test_forged_or_stale_init_data_is_refused(phone, kind) -> None:
    owner = Owner.objects.create(name="Кофейня")
    worker = make_person(owner, Role.SERVICE, chat=False)
    telegram_id = unique_chat_id()
    TelegramChat.objects.create(user=worker, chat_id=telegram_id)
    terminal = _terminal_with_containers(owner, "ТЦ Галерея", 1, worker)
    _auto_task(owner, terminal, worker)
    if kind == "forged":  # signed for one person, the user swapped for another
        data = init_data(unique_chat_id()).replace("hash=", "x=")
        data = init_data(telegram_id).split("&hash=")[0] + "&hash=" + data.split("&x=")[1]
    elif kind == "stale":
        data = init_data(telegram_id, auth_date=int(time.time()) - 2 * 3600)
    elif kind == "other-bot":
        data = init_data(telegram_id, token="999:another-bot")
    else:
        data = init_data(unique_chat_id())
    page = phone(f"#tgWebAppData={quote(data)}&tgWebAppVersion=7.10")
    expect(page.locator("#status")).to_contain_text(
        "не привязан" if kind == "unlinked" else "неверны или устарели"
    )
    expect(page.locator("#tasks button.task")).to_have_count(0)
    assert page.evaluate("fetch('/api/me/').then((r) => r.status)") in (401, 403)
    if kind == "forged":
        check_phone_screen(page, "refused")


def test_outside_telegram_the_normal_login_opens_the_same_page(phone) -> None:
    owner = Owner.objects.create(name="Кофейня")
    worker = make_person(owner, Role.SERVICE, chat=False)
    worker.set_password("a-long-pass-phrase")
    worker.save()
    terminal = _terminal_with_containers(owner, "ТЦ Галерея", 1, worker)
    _auto_task(owner, terminal, worker)
    page = phone()
    expect(page.locator("#signin a")).to_have_attribute("href", "/api-auth/login/?next=/app/")
    check_phone_screen(page, "sign-in")
    page.click("#signin a")
    page.fill("input[name=username]", worker.get_username())
    page.fill("input[name=password]", "a-long-pass-phrase")
    page.click("[type=submit]")
    expect(page.locator("#tasks button.task")).to_have_count(1)
    expect(page.locator("#tasks button.task")).to_contain_text("ТЦ Галерея")
