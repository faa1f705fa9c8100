"""E-mail and SMS channels against real local servers (the SMTP, SendGrid, SMSC.ru and Twilio
sandboxes): what leaves the process, and how each provider answer becomes a permanent or
transient DeliveryError."""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from notifications.channels import Attachment, DeliveryError, OutgoingMessage, get_channel
from notifications.channels.dev import DevOutboxChannel
from notifications.channels.email import SendGridEmailChannel, SmtpEmailChannel
from notifications.channels.sms import SmscSmsChannel, TwilioSmsChannel, normalize_phone
from sandboxes.base import free_port
from sandboxes.sendgrid import SendGridSandbox
from sandboxes.smsc import SmscSandbox
from sandboxes.smtp import RecordingSmtpHandler
from sandboxes.twilio import TwilioSandbox
from tests.foundation.test_settings import PROD_SECRETS
from tests.helpers.smsc import SMSC_PASSWORD, smsc_sandbox
from tests.helpers.smtp import local_smtp_server

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "ivan.petrov@mail.ru"
PHONE = "+7 916 123-45-67"
PHONE_E164 = "+79161234567"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
SUBJECT = "Отчёт: диагностика автомобиля"
TEXT = "Здравствуйте! Отчёт по диагностике автомобиля во вложении."
SENDGRID_KEY = "SG.test-key-never-logged"
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-secret-token"


def _report_message(recipient: str = EMAIL, **extra: Any) -> OutgoingMessage:
    return OutgoingMessage(
        recipient=recipient,
        subject=SUBJECT,
        text=TEXT,
        attachments=(Attachment("report.pdf", PDF, "application/pdf"),),
        **extra,
    )


def _assert_no_pii(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    for needle in (EMAIL, PHONE_E164, PHONE_E164[1:], *secrets):
        assert needle not in caplog.text


# --- SMTP -------------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[RecordingSmtpHandler]:
    with local_smtp_server() as handler:
        yield handler


def test_smtp_delivers_russian_text_and_pdf_attachment(smtp_server) -> None:
    result = SmtpEmailChannel().send(_report_message())

    assert len(smtp_server.received) == 1
    rcpt_tos, raw = smtp_server.received[0]
    assert rcpt_tos == [EMAIL]
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    # Django folds a long non-ASCII subject onto a continuation line; the parser keeps its space.
    assert str(mail["Subject"]).strip() == SUBJECT
    assert mail["To"] == EMAIL
    assert "kiosk@vk.example" in mail["From"]
    assert mail["Message-ID"] == result.provider_id
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content().strip() == TEXT
    attachments = list(mail.iter_attachments())
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        ("report.pdf", "application/pdf")
    ]
    assert attachments[0].get_content() == PDF


def test_smtp_repeat_of_one_delivery_keeps_its_message_id(smtp_server) -> None:
    first = SmtpEmailChannel().send(_report_message(key="delivery-42"))
    again = SmtpEmailChannel().send(_report_message(key="delivery-42"))
    other = SmtpEmailChannel().send(_report_message())

    assert first.provider_id == again.provider_id == "<vk-delivery-42@vk.example>"
    assert other.provider_id != first.provider_id
    ids = [
        message_from_bytes(raw, policy=policy.default)["Message-ID"]
        for _, raw in smtp_server.received
    ]
    assert ids == [first.provider_id, first.provider_id, other.provider_id]


def test_smtp_html_message_carries_plain_and_html_parts(smtp_server) -> None:
    SmtpEmailChannel().send(
        OutgoingMessage(
            recipient=EMAIL, subject=SUBJECT, text="<p>Отчёт <b>готов</b></p>", html=True
        )
    )

    mail = message_from_bytes(smtp_server.received[0][1], policy=policy.default)
    assert isinstance(mail, EmailMessage)
    plain = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert plain is not None and plain.get_content().strip() == "Отчёт готов"
    assert html is not None and "<b>готов</b>" in html.get_content()


def test_smtp_refused_recipient_is_permanent(smtp_server, caplog) -> None:
    smtp_server.refuse[EMAIL] = "550 5.1.1 <ivan.petrov@mail.ru>: Recipient address rejected"

    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as error:
        SmtpEmailChannel().send(_report_message())

    assert error.value.permanent is True
    assert "550" in str(error.value)
    assert EMAIL not in str(error.value)
    assert smtp_server.received == []
    _assert_no_pii(caplog)


def test_smtp_greylisted_recipient_is_transient(smtp_server) -> None:
    smtp_server.refuse[EMAIL] = "451 4.7.1 Greylisted, try again later"

    with pytest.raises(DeliveryError) as error:
        SmtpEmailChannel().send(_report_message())

    assert error.value.permanent is False


def test_smtp_server_not_answering_is_transient() -> None:
    with (
        override_settings(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_USE_TLS=False),
        pytest.raises(DeliveryError) as error,
    ):
        SmtpEmailChannel().send(_report_message())

    assert error.value.permanent is False


def test_smtp_server_disconnecting_is_transient() -> None:
    """A server that accepts the connection and hangs up at once (SMTPServerDisconnected)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def hang_up() -> None:
        conn, _ = listener.accept()
        conn.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        with (
            override_settings(
                SMTP_HOST="127.0.0.1", SMTP_PORT=listener.getsockname()[1], SMTP_USE_TLS=False
            ),
            pytest.raises(DeliveryError) as error,
        ):
            SmtpEmailChannel().send(_report_message())
    finally:
        thread.join(5)
        listener.close()

    assert error.value.permanent is False


def test_invalid_email_address_is_permanent_without_contacting_the_server(smtp_server) -> None:
    with pytest.raises(DeliveryError) as error:
        SmtpEmailChannel().send(_report_message(recipient="ivan.petrov@"))

    assert error.value.permanent is True
    assert smtp_server.received == []


# --- SendGrid (a local sandbox: the SDK speaks urllib, which `responses` cannot see) -----------


@pytest.fixture
def sendgrid_sandbox() -> Iterator[SendGridSandbox]:
    with (
        SendGridSandbox() as sandbox,
        override_settings(
            SENDGRID_API_KEY=SENDGRID_KEY,
            SENDGRID_API_URL=sandbox.url,
            EMAIL_FROM="Киоск <kiosk@vk.example>",
            EMAIL_TIMEOUT=1.0,
        ),
    ):
        yield sandbox


def test_sendgrid_posts_the_message_with_base64_attachment(sendgrid_sandbox) -> None:
    result = SendGridEmailChannel().send(_report_message())

    assert result.provider_id == "sg-msg-1"
    [request] = sendgrid_sandbox.requests
    assert request.path == "/v3/mail/send"
    assert request.headers["Authorization"] == f"Bearer {SENDGRID_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    body = request.json
    assert body["from"] == {"email": "kiosk@vk.example", "name": "Киоск"}
    assert body["personalizations"] == [{"to": [{"email": EMAIL}]}]
    assert body["subject"] == SUBJECT
    assert body["content"] == [{"type": "text/plain", "value": TEXT}]
    assert body["attachments"] == [
        {
            "content": base64.b64encode(PDF).decode("ascii"),
            "filename": "report.pdf",
            "type": "application/pdf",
            "disposition": "attachment",
        }
    ]


def test_sendgrid_html_message_sends_plain_then_html(sendgrid_sandbox) -> None:
    SendGridEmailChannel().send(
        OutgoingMessage(
            recipient=EMAIL, subject=SUBJECT, text="<p>Отчёт <b>готов</b></p>", html=True
        )
    )

    assert sendgrid_sandbox.requests[0].json["content"] == [
        {"type": "text/plain", "value": "Отчёт готов"},
        {"type": "text/html", "value": "<p>Отчёт <b>готов</b></p>"},
    ]


def test_sendgrid_429_is_transient_with_retry_after_from_reset_header(sendgrid_sandbox) -> None:
    reset = int(time.time()) + 30
    sendgrid_sandbox.answers = [
        (429, {"X-RateLimit-Reset": str(reset)}, b'{"errors":[{"message":"too many"}]}', 0.0)
    ]

    with pytest.raises(DeliveryError) as error:
        SendGridEmailChannel().send(_report_message())

    assert error.value.permanent is False
    assert error.value.retry_after is not None and 25 <= error.value.retry_after <= 30


def test_sendgrid_429_honours_retry_after_seconds(sendgrid_sandbox) -> None:
    sendgrid_sandbox.answers = [(429, {"Retry-After": "7"}, b"{}", 0.0)]

    with pytest.raises(DeliveryError) as error:
        SendGridEmailChannel().send(_report_message())

    assert (error.value.permanent, error.value.retry_after) == (False, 7.0)


def test_sendgrid_invalid_recipient_400_is_permanent(sendgrid_sandbox, caplog) -> None:
    body = json.dumps(
        {"errors": [{"field": "personalizations.0.to", "message": f"Invalid email {EMAIL}"}]}
    ).encode()
    sendgrid_sandbox.answers = [(400, {}, body, 0.0)]

    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as error:
        SendGridEmailChannel().send(_report_message())

    assert error.value.permanent is True
    assert "400" in str(error.value)
    assert EMAIL not in str(error.value)
    _assert_no_pii(caplog, SENDGRID_KEY)


@pytest.mark.parametrize("status", [401, 403])
def test_sendgrid_bad_key_is_permanent_and_logged_as_configuration_error(
    sendgrid_sandbox, caplog, status: int
) -> None:
    sendgrid_sandbox.answers = [(status, {}, b'{"errors":[{"message":"bad key"}]}', 0.0)]

    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as error:
        SendGridEmailChannel().send(_report_message())

    assert error.value.permanent is True
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "configuration error" in errors[0].getMessage()
    _assert_no_pii(caplog, SENDGRID_KEY)


def test_sendgrid_5xx_is_transient(sendgrid_sandbox) -> None:
    sendgrid_sandbox.answers = [(503, {}, b"busy", 0.0)]

    with pytest.raises(DeliveryError) as error:
        SendGridEmailChannel().send(_report_message())

    assert (error.value.permanent, error.value.retry_after) == (False, None)


def test_sendgrid_timeout_is_transient(sendgrid_sandbox) -> None:
    sendgrid_sandbox.answers = [(202, {}, b"", 3.0)]

    started = time.monotonic()
    with override_settings(EMAIL_TIMEOUT=0.3), pytest.raises(DeliveryError) as error:
        SendGridEmailChannel().send(_report_message())

    assert error.value.permanent is False
    assert time.monotonic() - started < 2.5


def test_sendgrid_unreachable_is_transient(sendgrid_sandbox) -> None:
    with (
        override_settings(SENDGRID_API_URL=f"http://127.0.0.1:{free_port()}"),
        pytest.raises(DeliveryError) as error,
    ):
        SendGridEmailChannel().send(_report_message())

    assert error.value.permanent is False


# --- Phone numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+7 916 123-45-67", "+79161234567"),
        ("8 (916) 123-45-67", "+79161234567"),
        ("79161234567", "+79161234567"),
        ("9161234567", "+79161234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0049 30 123456", "+4930123456"),
    ],
)
def test_phone_is_normalised_to_e164(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize(
    "raw",
    ["", "12345", "+7 916 123-45", "+7 916 123-45-678", "+0 123 456 789", "phone", "+٧٩١٦١٢٣٤٥٦٧"],
)
def test_invalid_phone_is_permanent(raw: str) -> None:
    with pytest.raises(DeliveryError) as error:
        normalize_phone(raw)
    assert error.value.permanent is True


# --- SMSC.ru (a local sandbox) ----------------------------------------------------------------


@pytest.fixture
def smsc() -> Iterator[SmscSandbox]:
    with smsc_sandbox() as sandbox:
        yield sandbox


def _smsc_sms() -> OutgoingMessage:
    return OutgoingMessage(recipient=PHONE, text="Отчёт готов: https://vk.example/r/abc")


def _smsc_trouble(smsc: SmscSandbox, trouble: str) -> dict[str, Any]:
    """Make SMSC misbehave as named; the settings that go with it (a dead port, a short timeout)."""
    match trouble:
        case "refused":
            return {"SMSC_API_URL": f"http://127.0.0.1:{free_port()}/"}
        case "slow":
            smsc.delay = 3.0
            return {"SMS_TIMEOUT": 0.3}
        case "not json":
            smsc.raw_answer = "<html>busy</html>"
        case "429":
            smsc.http_status, smsc.retry_after = 429, "12"
        case _:
            smsc.http_status = int(trouble)
    return {}


def test_smsc_posts_form_with_credentials_and_e164_number(smsc) -> None:
    smsc.next_id = 4217

    result = SmscSmsChannel().send(_smsc_sms())

    assert result.provider_id == "4217"
    [call] = smsc.calls
    assert (call.method, call.path) == ("POST", "/sys/send.php")
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.form == {
        "login": ["vk-login"],
        "psw": [SMSC_PASSWORD],
        "phones": ["79161234567"],
        "mes": ["Отчёт готов: https://vk.example/r/abc"],
        "fmt": ["3"],
        "charset": ["utf-8"],
        "sender": ["VendKiosk"],
    }


def test_smsc_uses_an_explicit_timeout(smsc) -> None:
    seen: list[Any] = []

    class Session(requests.Session):
        def send(self, request, **kwargs):
            seen.append(kwargs.get("timeout"))
            return super().send(request, **kwargs)

    SmscSmsChannel(session=Session()).send(_smsc_sms())

    assert seen == [4.0]
    assert len(smsc.sent()) == 1


@pytest.mark.parametrize(
    ("code", "permanent", "retry_after"),
    [
        (1, True, None),
        (6, True, None),
        (7, True, None),
        (8, True, None),
        (4, False, None),
        (9, False, 60.0),
    ],
)
def test_smsc_error_codes_map_to_permanent_or_transient(
    smsc, code: int, permanent: bool, retry_after: float | None
) -> None:
    smsc.error_code, smsc.error_text = code, "описание"

    with pytest.raises(DeliveryError) as error:
        SmscSmsChannel().send(_smsc_sms())

    assert (error.value.permanent, error.value.retry_after) == (permanent, retry_after)
    assert f"SMSC error {code}" in str(error.value)


@pytest.mark.parametrize("code", [2, 3])
def test_smsc_account_errors_are_permanent_and_logged_as_configuration(
    smsc, caplog, code: int
) -> None:
    # The sandbox's error answers carry a message id too, as SMSC's may: still an error.
    smsc.error_code, smsc.error_text = code, "account problem"

    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as error:
        SmscSmsChannel().send(_smsc_sms())

    assert error.value.permanent is True
    assert any(
        r.levelno == logging.ERROR and "configuration error" in r.getMessage()
        for r in caplog.records
    )
    _assert_no_pii(caplog, SMSC_PASSWORD)


def test_smsc_wrong_password_is_error_2_a_configuration_error(smsc, caplog) -> None:
    with (
        override_settings(SMSC_PASSWORD="not-the-password"),
        caplog.at_level(logging.DEBUG),
        pytest.raises(DeliveryError) as error,
    ):
        SmscSmsChannel().send(_smsc_sms())

    assert error.value.permanent is True
    assert "SMSC error 2" in str(error.value)
    assert [call.outcome for call in smsc.calls] == ["error 2"]
    assert any(
        r.levelno == logging.ERROR and "configuration error" in r.getMessage()
        for r in caplog.records
    )
    _assert_no_pii(caplog, SMSC_PASSWORD, "not-the-password")


@pytest.mark.parametrize(
    ("trouble", "retry_after"),
    [("503", None), ("429", 12.0), ("refused", None), ("slow", None), ("not json", None)],
)
def test_smsc_server_trouble_is_transient(
    smsc, caplog, trouble: str, retry_after: float | None
) -> None:
    overrides = _smsc_trouble(smsc, trouble)

    with (
        override_settings(**overrides),
        caplog.at_level(logging.DEBUG),
        pytest.raises(DeliveryError) as error,
    ):
        SmscSmsChannel().send(_smsc_sms())

    assert (error.value.permanent, error.value.retry_after) == (False, retry_after)
    _assert_no_pii(caplog, SMSC_PASSWORD)


def test_smsc_invalid_number_is_refused_before_any_request(smsc) -> None:
    with pytest.raises(DeliveryError) as error:
        SmscSmsChannel().send(OutgoingMessage(recipient="8 916 12", text="x"))

    assert error.value.permanent is True
    assert smsc.calls == []


# --- Twilio (a local sandbox) -----------------------------------------------------------------

TWILIO_PATH = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"


@pytest.fixture
def twilio() -> Iterator[TwilioSandbox]:
    with (
        TwilioSandbox(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN) as sandbox,
        override_settings(
            TWILIO_ACCOUNT_SID=TWILIO_SID,
            TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
            TWILIO_API_URL=sandbox.url,
            SMS_FROM="+15005550006",
            SMS_TIMEOUT=4.0,
        ),
    ):
        yield sandbox


def _twilio_trouble(twilio: TwilioSandbox, trouble: str) -> dict[str, Any]:
    """Make Twilio misbehave as named; the settings that go with it (a dead port, a short
    timeout)."""
    match trouble:
        case "refused":
            return {"TWILIO_API_URL": f"http://127.0.0.1:{free_port()}/"}
        case "slow":
            twilio.slow(3.0)
            return {"SMS_TIMEOUT": 0.3}
        case "500":
            twilio.fail(500, 20500, "Internal")
        case _:
            twilio.fail(int(trouble), body="unavailable")
    return {}


def _timeouts_given_to_requests(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The `timeout` of every request the SDK sends (a server cannot see the client's)."""
    seen: list[Any] = []
    send = requests.Session.send

    def recording_send(self: requests.Session, request: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("timeout"))
        return send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", recording_send)
    return seen


def test_twilio_creates_the_message_with_basic_auth_and_e164_number(twilio, monkeypatch) -> None:
    timeouts = _timeouts_given_to_requests(monkeypatch)

    result = TwilioSmsChannel().send(_smsc_sms())

    [request] = twilio.requests
    assert request.sid and result.provider_id == request.sid
    assert (request.method, request.path, request.status) == ("POST", TWILIO_PATH, 201)
    expected_auth = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected_auth}"
    assert request.form == {
        "To": [PHONE_E164],
        "From": ["+15005550006"],
        "Body": ["Отчёт готов: https://vk.example/r/abc"],
    }
    assert timeouts == [4.0]


def test_twilio_api_url_can_point_at_a_sandbox(twilio) -> None:
    with (
        TwilioSandbox(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN) as other,
        override_settings(TWILIO_API_URL=other.url + "/"),
    ):
        TwilioSmsChannel().send(_smsc_sms())

    assert [request.path for request in other.requests] == [TWILIO_PATH]
    assert twilio.requests == []


@pytest.mark.parametrize("code", [21211, 21614, 21610])
def test_twilio_invalid_or_unsubscribed_number_is_permanent(twilio, caplog, code: int) -> None:
    twilio.fail(400, code, f"The 'To' number {PHONE_E164} is not valid")

    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as error:
        TwilioSmsChannel().send(_smsc_sms())

    assert error.value.permanent is True
    assert f"code {code}" in str(error.value)
    assert PHONE_E164 not in str(error.value)
    _assert_no_pii(caplog, TWILIO_TOKEN)


def test_twilio_429_is_transient_with_retry_after(twilio) -> None:
    twilio.fail(429, 20429, "Too Many Requests", retry_after=5)

    with pytest.raises(DeliveryError) as error:
        TwilioSmsChannel().send(_smsc_sms())

    assert (error.value.permanent, error.value.retry_after) == (False, 5.0)


@pytest.mark.parametrize("trouble", ["500", "503", "refused", "slow"])
def test_twilio_server_trouble_is_transient(twilio, trouble: str) -> None:
    overrides = _twilio_trouble(twilio, trouble)

    with override_settings(**overrides), pytest.raises(DeliveryError) as error:
        TwilioSmsChannel().send(_smsc_sms())

    assert error.value.permanent is False


def test_twilio_bad_credentials_are_permanent_configuration_error(twilio, caplog) -> None:
    twilio.auth_token = "the-token-twilio-expects"

    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as error:
        TwilioSmsChannel().send(_smsc_sms())

    assert error.value.permanent is True
    assert "401 code 20003" in str(error.value)
    assert any(
        r.levelno == logging.ERROR and "configuration error" in r.getMessage()
        for r in caplog.records
    )
    _assert_no_pii(caplog, TWILIO_TOKEN)


# --- Selection by settings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "provider", "expected"),
    [
        ("email", "smtp", SmtpEmailChannel),
        ("email", "sendgrid", SendGridEmailChannel),
        ("sms", "smsc", SmscSmsChannel),
        ("sms", "twilio", TwilioSmsChannel),
    ],
)
def test_get_channel_picks_the_configured_provider(kind: str, provider: str, expected) -> None:
    with override_settings(
        EMAIL_PROVIDER=provider if kind == "email" else "dev",
        SMS_PROVIDER=provider if kind == "sms" else "dev",
        SMTP_HOST="smtp.vk.example",
        SENDGRID_API_KEY=SENDGRID_KEY,
        SMSC_LOGIN="vk-login",
        SMSC_PASSWORD=SMSC_PASSWORD,
        TWILIO_ACCOUNT_SID=TWILIO_SID,
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        SMS_FROM="+15005550006",
    ):
        channel = get_channel(kind)

    assert type(channel) is expected
    assert (channel.kind, channel.name) == (kind, provider)


def test_get_channel_refuses_a_provider_of_another_kind() -> None:
    with (
        override_settings(EMAIL_PROVIDER="twilio"),
        pytest.raises(ImproperlyConfigured, match="EMAIL_PROVIDER"),
    ):
        get_channel("email")


@pytest.mark.parametrize("kind", ["email", "sms"])
def test_get_channel_dev_keeps_the_outbox(kind: str) -> None:
    with override_settings(EMAIL_PROVIDER="dev", SMS_PROVIDER="dev"):
        channel = get_channel(kind)

    assert isinstance(channel, DevOutboxChannel)
    assert channel.kind == kind


@pytest.mark.parametrize(
    ("overrides", "kind", "variable"),
    [
        ({"EMAIL_PROVIDER": "smtp", "SMTP_HOST": ""}, "email", "SMTP_HOST"),
        ({"EMAIL_PROVIDER": "sendgrid", "SENDGRID_API_KEY": ""}, "email", "SENDGRID_API_KEY"),
        ({"SMS_PROVIDER": "smsc", "SMSC_LOGIN": "", "SMSC_PASSWORD": "x"}, "sms", "SMSC_LOGIN"),
        (
            {"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": ""},
            "sms",
            "TWILIO_AUTH_TOKEN",
        ),
    ],
)
def test_get_channel_without_credentials_names_the_setting(
    overrides: dict[str, str], kind: str, variable: str
) -> None:
    with override_settings(**overrides), pytest.raises(ImproperlyConfigured, match=variable):
        get_channel(kind)


# --- PROD start -------------------------------------------------------------------------------

_PROD_BASE = dict(PROD_SECRETS)
_CHANNEL_VARIABLES = {
    "EMAIL_PROVIDER",
    "SMS_PROVIDER",
    "EMAIL_FROM",
    "SMTP_HOST",
    "SENDGRID_API_KEY",
    "SMS_FROM",
    "SMSC_LOGIN",
    "SMSC_PASSWORD",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "DEBUG",
}


def _check_settings(overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in _CHANNEL_VARIABLES}
    env.update(_PROD_BASE)
    env.update(overrides)
    code = "import django; django.setup()"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        ({"EMAIL_PROVIDER": "sendgrid", "EMAIL_FROM": "kiosk@vk.example"}, "SENDGRID_API_KEY"),
        ({"EMAIL_PROVIDER": "smtp", "EMAIL_FROM": "kiosk@vk.example"}, "SMTP_HOST"),
        ({"EMAIL_PROVIDER": "smtp", "SMTP_HOST": "smtp.vk.example"}, "EMAIL_FROM"),
        ({"SMS_PROVIDER": "smsc", "SMSC_PASSWORD": "p"}, "SMSC_LOGIN"),
        ({"SMS_PROVIDER": "smsc", "SMSC_LOGIN": "l"}, "SMSC_PASSWORD"),
        (
            {"SMS_PROVIDER": "twilio", "TWILIO_AUTH_TOKEN": "t", "SMS_FROM": "+1"},
            "TWILIO_ACCOUNT_SID",
        ),
        (
            {"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "SMS_FROM": "+1"},
            "TWILIO_AUTH_TOKEN",
        ),
    ],
)
def test_prod_start_without_provider_credentials_names_the_variable(
    overrides: dict[str, str], missing: str
) -> None:
    result = _check_settings(overrides)

    assert result.returncode != 0
    assert f"{missing}: is required" in result.stderr


def test_prod_start_with_provider_credentials_succeeds() -> None:
    result = _check_settings(
        {
            "EMAIL_PROVIDER": "sendgrid",
            "EMAIL_FROM": "kiosk@vk.example",
            "SENDGRID_API_KEY": "SG.key",
            "SMS_PROVIDER": "smsc",
            "SMSC_LOGIN": "l",
            "SMSC_PASSWORD": "p",
        }
    )

    assert result.returncode == 0, result.stderr
