"""The kiosk touch screen in a real browser (Debian chromium, headless, via Playwright) against a
live server and a real Celery worker: the whole DEV flow, failures, expiry and inactivity.

Every screen is screenshotted in landscape and portrait under `var/screenshots/` and checked by
axe-core: a serious or critical violation fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, Route, expect

from audit.models import AuditEntry
from kiosk.models import Session
from kiosk.services import expire_sessions
from notifications.models import OutboxMessage
from payments.models import PaymentIntent
from reports.models import Report
from tests.helpers.browser import LANDSCAPE, check_screen, chromium
from tests.helpers.kiosk import KioskClient, make_kiosk, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EMAIL = "ivan.petrov@mail.ru"
PHONE = "+79161234567"
NBSP = "\u00a0"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def open_kiosk(browser: Browser, live_server, settings, redis_client, tmp_path):
    """Opens the kiosk screen of a new kiosk (provisioned through `#token=`) and fails the test
    on any script error the page raised."""
    settings.MEDIA_ROOT = tmp_path
    contexts = []
    errors: list[str] = []

    def opener(
        k: KioskClient | None = None, *, token: str | None = None, fake_clock: bool = False
    ) -> Page:
        context = browser.new_context(viewport=LANDSCAPE, locale="en-US")
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_default_timeout(15_000)
        if fake_clock:
            page.clock.install()  # time runs as usual until the test jumps it forward
        url = f"{live_server.url}/kiosk/"
        if token or k:
            url += f"#token={token or k.token}"  # type: ignore[union-attr]
        page.goto(url)
        return page

    yield opener
    for context in contexts:
        context.close()
    assert not errors, f"script errors on the kiosk screen: {errors}"


def _text(page: Page, selector: str) -> str:
    return page.inner_text(selector).replace(NBSP, " ")


def _enter_contacts(page: Page, *, email: str = "", phone: str = "") -> None:
    page.fill("#email", email)
    page.fill("#phone", phone)
    page.press("#phone", "Enter")  # keyboard submit, as an on-screen keyboard's "done" does


def _lose_first_answer(page: Page, pattern: str) -> None:
    """The first request to `pattern` reaches the server, but its answer is lost on the way back
    (the kiosk sees a network error), as on a flaky line."""
    state = {"lost": False}

    def handler(route: Route) -> None:
        if state["lost"]:
            route.continue_()
            return
        state["lost"] = True
        route.fetch()  # the server does the work ...
        route.abort()  # ... and the kiosk never hears about it

    page.route(pattern, handler)


def test_dev_flow_from_start_to_a_report_in_the_outbox(open_kiosk, celery_worker) -> None:
    k = make_kiosk()
    page = open_kiosk(k)

    # Start: the two services with the kiosk's prices, in Russian whatever the browser's locale.
    start = page.locator("#screen-start")
    expect(start).to_be_visible()
    assert "token" not in page.url  # provisioned once, then kept in localStorage only
    assert page.evaluate("localStorage.getItem('vendkiosk.kioskToken')") == k.token
    assert page.get_attribute("html", "lang") == "ru"
    expect(page.locator("#start-title")).to_have_text("Проверьте автомобиль за несколько минут")
    assert _text(page, "#choose-diagnostics .service-price") == "480 ₽"
    assert _text(page, "#choose-thickness .service-price") == "300 ₽"
    check_screen(page, "start")

    # Keyboard only: Tab to the diagnostics card and press Enter.
    page.keyboard.press("Tab")
    for _ in range(10):
        if page.evaluate("document.activeElement.id") == "choose-diagnostics":
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    # Contacts: validated on the screen, in Russian, tied to the field.
    expect(page.locator("#screen-contact")).to_be_visible()
    expect(page.locator("#contact-chosen")).to_contain_text("Компьютерная диагностика")
    _enter_contacts(page, email="ivan.petrov@", phone="12")
    expect(page.locator("#email-error")).to_have_text(
        "Проверьте e-mail: он должен выглядеть как name@example.ru."
    )
    expect(page.locator("#phone-error")).to_contain_text("Проверьте номер телефона")
    assert page.get_attribute("#email", "aria-invalid") == "true"
    check_screen(page, "contact-invalid")
    assert Session.objects.count() == 0

    # Payment: a QR code from the intent's data, the amount, a countdown. The status polls are
    # held at "pending" first (for a steady screenshot), then cut off (the "no connection"
    # banner), then let through to the server.
    network = {"state": "held"}

    def status_route(route: Route) -> None:
        if network["state"] == "held":
            route.fulfill(json={"status": "pending"})
        else:
            route.abort()

    page.route("**/api/payments/status/**", status_route)
    _enter_contacts(page, email=EMAIL, phone="8 (916) 123-45-67")
    expect(page.locator("#screen-payment")).to_be_visible()
    expect(page.locator("#qr")).to_be_visible()
    assert page.evaluate("document.getElementById('qr').naturalWidth") > 0
    assert _text(page, "#pay-title") == "Оплатите 480 ₽ по QR-коду"
    expect(page.locator("#qr")).to_have_attribute("alt", re.compile("QR-код для оплаты 480"))
    expect(page.locator("#pay-countdown")).to_have_text(
        re.compile(r"Осталось времени на оплату: 1[45]:\d\d")
    )
    session = Session.objects.get()
    assert (session.type, session.contact_email, session.contact_phone) == (
        "diagnostics",
        EMAIL,
        PHONE,
    )
    intent = PaymentIntent.objects.get(session=session)
    assert intent.amount == 48000
    check_screen(page, "payment")
    expect(page.locator("#network")).to_be_hidden()

    network["state"] = "down"
    expect(page.locator("#network")).to_have_text("Нет связи, повторяем…")
    check_screen(page, "payment-network-lost", portrait=False)
    page.unroute("**/api/payments/status/**")

    # The DEV emulator confirms about 2 s after the intent was made; the screen follows.
    expect(page.locator("#screen-service")).to_be_visible()
    expect(page.locator("#network")).to_have_text("Связь восстановлена.")
    expect(page.locator("#network")).to_be_hidden()
    intent.refresh_from_db()
    assert intent.status == "succeeded" and intent.confirmed_at is not None
    assert (intent.confirmed_at - intent.created_at).total_seconds() >= 1.5  # the emulator's delay
    expect(page.locator("#service-title")).to_have_text("Идёт диагностика")
    expect(page.locator("#service-status")).to_have_text("Ждём результаты сканирования…")
    check_screen(page, "service")

    # DEV: "simulate the scan" posts sample diagnostics; the worker makes and sends the PDF.
    page.click("#dev-scan")
    expect(page.locator("#screen-done")).to_be_visible(timeout=60_000)
    expect(page.locator("#done-title")).to_have_text("Готово! Отчёт отправлен")
    channels = _text(page, "#done-channels")
    assert "PDF-отчёт отправлен на iv•••@mail.ru" in channels
    assert "Ссылка на отчёт отправлена в SMS на +7 ••• •••-45-67" in channels
    assert EMAIL not in page.content()  # a passer-by sees only a masked address
    assert page.input_value("#email") == ""
    check_screen(page, "done")

    report = Report.objects.get(session=session)
    assert report.status == "delivered"
    assert [dtc["code"] for dtc in report.data["dtc_codes"]][:2] == ["P0420", "P0301"]
    email = OutboxMessage.objects.get(channel="email", recipient=EMAIL)
    assert email.attachments[0]["mimetype"] == "application/pdf"
    assert OutboxMessage.objects.filter(channel="sms", recipient=PHONE).exists()
    wait_for(lambda: Session.objects.get(pk=session.pk).status == "completed", timeout=10)

    page.click("#screen-done [data-action=restart]")
    expect(start).to_be_visible()


def test_session_expiry_resets_the_screen_and_cancels_the_payment(open_kiosk, settings) -> None:
    settings.KIOSK_SESSION_TTL_MS = 60_000
    settings.PAYMENTS_DEV_MANUAL_MODE = True  # the payment stays pending until the session ends
    k = make_kiosk()
    page = open_kiosk(k, fake_clock=True)

    page.click("#choose-thickness")
    _enter_contacts(page, email=EMAIL)
    expect(page.locator("#screen-payment")).to_be_visible()
    expect(page.locator("#dev-confirm")).to_be_visible()  # manual mode: a DEV button to pay
    expect(page.locator("#qr")).to_be_visible()
    session = Session.objects.get()
    assert session.ttl_ms == 60_000

    # The screen notices the expiry itself (the beat sweep runs only once a minute) and resets.
    page.clock.fast_forward(55_000)
    expect(page.locator("#screen-payment")).to_be_visible()
    page.clock.fast_forward(6_000)
    expect(page.locator("#screen-start")).to_be_visible()
    expect(page.locator("#start-notice")).to_have_text(
        "Сеанс завершён: прошло слишком много времени. Пожалуйста, начните заново."
    )
    assert page.input_value("#email") == ""
    check_screen(page, "session-expired")
    intent = PaymentIntent.objects.get(session=session)
    assert (intent.status, intent.failure_reason) == ("canceled", "canceled_by_kiosk")

    # The server's own sweep, a minute on, marks the session expired.
    assert expire_sessions(now=timezone.now() + timedelta(seconds=61)) == 1
    assert Session.objects.get(pk=session.pk).status == "expired"


def test_cancelled_payment_says_so_and_returns_to_start(open_kiosk, settings) -> None:
    settings.PAYMENTS_DEV_MANUAL_MODE = True
    k = make_kiosk()
    page = open_kiosk(k, fake_clock=True)
    _lose_first_answer(page, "**/api/payments/intent")

    page.click("#choose-diagnostics")
    _enter_contacts(page, phone="+7 916 123-45-67")
    expect(page.locator("#qr")).to_be_visible()
    # The lost answer was recovered, not repeated: one payment, never two.
    assert PaymentIntent.objects.count() == 1
    page.click("#pay-cancel")

    expect(page.locator("#screen-notice")).to_be_visible()
    expect(page.locator("#notice-title")).to_have_text("Оплата отменена")
    expect(page.locator("#notice-text")).to_have_text(
        "Деньги не списаны. Начать заново можно в любой момент."
    )
    intent = PaymentIntent.objects.get()
    assert (intent.status, intent.failure_reason) == ("canceled", "canceled_by_kiosk")
    assert AuditEntry.objects.filter(
        action="payment.cancel_requested", object_id=str(intent.pk), actor_kind="kiosk"
    ).exists()
    check_screen(page, "payment-canceled", portrait=False)
    expect(page.locator("#notice-return")).to_contain_text("Возврат на главный экран через")
    page.clock.fast_forward(16_000)
    expect(page.locator("#screen-start")).to_be_visible()


def test_payment_countdown_runs_out_and_says_so(open_kiosk, settings) -> None:
    settings.PAYMENTS_DEV_MANUAL_MODE = True
    settings.PAYMENTS_INTENT_TTL_S = 3
    k = make_kiosk()
    page = open_kiosk(k)

    page.click("#choose-diagnostics")
    _enter_contacts(page, email=EMAIL)
    expect(page.locator("#pay-countdown")).to_have_text(
        re.compile(r"Осталось времени на оплату: 0:0[0-3]")
    )

    expect(page.locator("#screen-notice")).to_be_visible(timeout=10_000)
    expect(page.locator("#notice-title")).to_have_text("Время на оплату истекло")
    intent = PaymentIntent.objects.get()
    assert (intent.status, intent.failure_reason) == ("expired", "expired")
    check_screen(page, "payment-expired", portrait=False)


def test_inactivity_warns_then_returns_to_start(open_kiosk, settings) -> None:
    # 30 s: the prompt shows in the last 10, which leaves the (real-time) screenshot and click
    # seconds of slack on a busy machine; the clock is jumped, never waited for.
    settings.KIOSK_UI_IDLE_SECONDS = 30
    k = make_kiosk()
    page = open_kiosk(k, fake_clock=True)

    page.click("#choose-diagnostics")
    page.fill("#email", EMAIL)
    page.clock.fast_forward(12_000)
    expect(page.locator("#idle")).to_be_hidden()  # still time: no prompt yet
    page.clock.fast_forward(9_000)
    expect(page.locator("#idle")).to_be_visible()
    expect(page.locator("#idle-text")).to_contain_text("экран вернётся к началу")
    expect(page.locator("#idle-continue")).to_be_focused()
    check_screen(page, "idle-warning", portrait=False)
    page.click("#idle-continue")  # a touch keeps the client's screen
    expect(page.locator("#idle")).to_be_hidden()
    expect(page.locator("#screen-contact")).to_be_visible()
    expect(page.locator("#email")).to_be_focused()  # back where the client was typing
    assert page.input_value("#email") == EMAIL

    page.clock.fast_forward(22_000)
    expect(page.locator("#screen-contact")).to_be_visible()  # the touch bought a full period
    page.clock.fast_forward(10_000)
    expect(page.locator("#screen-start")).to_be_visible()
    assert page.input_value("#email") == ""
    assert Session.objects.count() == 0


def test_failed_report_delivery_shows_a_calm_message(open_kiosk, settings, celery_worker) -> None:
    settings.PAYMENTS_DEV_AUTO_CONFIRM_DELAY_MS = 300
    settings.EMAIL_PROVIDER = "smtp"
    settings.SMTP_HOST = ""  # an e-mail channel that cannot be built: the delivery fails
    k = make_kiosk()
    page = open_kiosk(k)
    _lose_first_answer(page, "**/api/reports/thickness")

    page.click("#choose-thickness")
    _enter_contacts(page, email=EMAIL)
    expect(page.locator("#screen-service")).to_be_visible()
    expect(page.locator("#service-title")).to_have_text("Идёт замер толщины ЛКП")
    page.click("#dev-scan")

    expect(page.locator("#screen-done")).to_be_visible(timeout=60_000)
    expect(page.locator("#done-title")).to_have_text("Отчёт придёт чуть позже")
    expect(page.locator("#done-text")).to_contain_text("Сотрудники уже получили уведомление")
    expect(page.locator("#done-channels")).to_have_text(
        "PDF-отчёт придёт на iv•••@mail.ru чуть позже"
    )
    report = Report.objects.get()  # the lost answer was recovered: one report, one e-mail
    assert (report.status, report.failed_stage) == ("failed", "email")
    assert AuditEntry.objects.filter(action="report.failed", object_id=str(report.pk)).exists()
    check_screen(page, "done-delivery-failed")


def test_setup_screen_takes_the_kiosk_token(open_kiosk) -> None:
    k = make_kiosk()
    page = open_kiosk()

    expect(page.locator("#screen-setup")).to_be_visible()
    check_screen(page, "setup", portrait=False)
    page.fill("#token", "not-a-token")
    page.press("#token", "Enter")
    expect(page.locator("#setup-error")).to_have_text(
        "Токен киоска не принят. Проверьте его и попробуйте ещё раз."
    )
    page.fill("#token", k.token)
    page.press("#token", "Enter")
    expect(page.locator("#screen-start")).to_be_visible()
    expect(page.locator("#brand-name")).to_have_text("АвтоПроверка")
