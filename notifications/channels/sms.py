"""SMS channels: SMSC.ru's HTTP API (primary in Russia) and Twilio's SDK.

The number is normalised to E.164 before anything is sent; a number that cannot be is a
permanent failure. Provider answers map to the channel contract: an invalid or unreachable
number, a forbidden text or bad credentials are permanent; rate limits, a busy or failing
server, timeouts and dropped connections are transient.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.html import strip_tags

from core.pii import mask_text
from notifications.channels._retry import retry_after_seconds
from notifications.channels.base import DeliveryError, OutgoingMessage, SendResult

logger = logging.getLogger(__name__)

_SEPARATORS = re.compile(r"[\s().-]")


def normalize_phone(raw: str) -> str:
    """E.164 (`+79161234567`) from a typed number; Russian numbers may start with 8 or 7 or
    lack the country code (`9161234567`). Raises a permanent DeliveryError when impossible."""
    value = _SEPARATORS.sub("", raw.strip())
    if value.startswith("00"):
        value = "+" + value[2:]
    if value.startswith("+"):
        digits = value[1:]
    elif len(value) == 11 and value[:1] in ("7", "8"):
        digits = "7" + value[1:]
    elif len(value) == 10 and value.startswith("9"):
        digits = "7" + value
    else:
        digits = ""
    valid = (
        digits.isascii()
        and digits.isdigit()
        and 8 <= len(digits) <= 15
        and not digits.startswith("0")
        # +7 (Russia, Kazakhstan) numbers have exactly ten digits after the country code.
        and (not digits.startswith("7") or len(digits) == 11)
    )
    if not valid:
        raise DeliveryError(f"invalid phone number {mask_text(raw)!r}", permanent=True)
    return "+" + digits


def _sms_text(message: OutgoingMessage) -> str:
    return strip_tags(message.text) if message.html else message.text


# SMSC.ru `error_code` values (send.php, fmt=3) and whether a retry can help.
_SMSC_ERRORS: dict[int, tuple[str, bool]] = {
    1: ("error in parameters", True),
    2: ("invalid login or password", True),
    3: ("not enough money on the account", True),
    4: ("IP address temporarily blocked after frequent errors", False),
    5: ("invalid date format", True),
    6: ("message forbidden (text or sender name)", True),
    7: ("invalid phone number format", True),
    8: ("message cannot be delivered to this number", True),
    9: ("too many identical requests", False),
}
# Errors of our account, not of the message: an operator must act (they are logged as errors).
_SMSC_CONFIG_ERRORS = {2, 3}
# SMSC refuses an identical send within a minute (error 9).
_SMSC_DUPLICATE_WAIT = 60.0


class SmscSmsChannel:
    """Sends through SMSC.ru: `POST {SMSC_API_URL}/sys/send.php` with a JSON answer (fmt=3)."""

    kind: ClassVar[str] = "sms"
    name: ClassVar[str] = "smsc"

    def __init__(self, session: requests.Session | None = None) -> None:
        for setting in ("SMSC_LOGIN", "SMSC_PASSWORD"):
            if not getattr(settings, setting):
                raise ImproperlyConfigured(f"{setting}: is required when SMS_PROVIDER=smsc")
        self.url = settings.SMSC_API_URL.rstrip("/") + "/sys/send.php"
        self.timeout: float = settings.SMS_TIMEOUT
        self._session = session or requests.Session()

    def send(self, message: OutgoingMessage) -> SendResult:
        phone = normalize_phone(message.recipient)
        masked = mask_text(phone)
        data = {
            "login": settings.SMSC_LOGIN,
            "psw": settings.SMSC_PASSWORD,
            "phones": phone.removeprefix("+"),
            "mes": _sms_text(message),
            "fmt": "3",
            "charset": "utf-8",
        }
        if settings.SMS_FROM:
            data["sender"] = settings.SMS_FROM
        try:
            response = self._session.post(self.url, data=data, timeout=self.timeout)
        except requests.RequestException as exc:
            logger.warning("smsc: %s sending to %s", type(exc).__name__, masked)
            raise DeliveryError(f"SMSC unreachable: {type(exc).__name__}", permanent=False) from exc
        if response.status_code == 429 or response.status_code >= 500:
            logger.warning("smsc: HTTP %s sending to %s", response.status_code, masked)
            raise DeliveryError(
                f"SMSC HTTP {response.status_code}",
                permanent=False,
                retry_after=retry_after_seconds(response.headers),
            )
        if response.status_code >= 400:
            logger.error("smsc: configuration error (SMSC_API_URL?): HTTP %s", response.status_code)
            raise DeliveryError(f"SMSC HTTP {response.status_code}", permanent=True)
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            logger.warning("smsc: unreadable answer sending to %s", masked)
            raise DeliveryError("SMSC answer is not a JSON object", permanent=False)
        if "error_code" in body or "error" in body:
            raise self._error(body, masked)
        if body.get("id") is None:
            raise DeliveryError("SMSC answer has no message id", permanent=False)
        return SendResult(provider_id=str(body["id"]))

    def _error(self, body: Mapping[str, Any], masked: str) -> DeliveryError:
        try:
            code = int(body.get("error_code", 0))
        except (TypeError, ValueError):
            code = 0
        meaning, permanent = _SMSC_ERRORS.get(code, ("unknown error", False))
        detail = f"SMSC error {code}: {meaning} ({mask_text(str(body.get('error', '')))[:200]})"
        if code in _SMSC_CONFIG_ERRORS:
            logger.error("smsc: configuration error (SMSC_LOGIN/SMSC_PASSWORD/balance): %s", detail)
        else:
            logger.warning("smsc: %s sending to %s", detail, masked)
        retry_after = _SMSC_DUPLICATE_WAIT if code == 9 else None
        return DeliveryError(detail, permanent=permanent, retry_after=retry_after)


# Twilio error codes (https://www.twilio.com/docs/api/errors). Any other 4xx is permanent: it is
# about the number or the recipient (21211 invalid, 21614 not a mobile, 21610 unsubscribed,
# 21612 cannot route, 21408 region not enabled ...), so retrying cannot help.
# These are about our account or sender: permanent too, and an operator must act.
_TWILIO_CONFIG = {20003, 20404, 21212, 21606, 21659}
# Rate limits reported with a 400 or 429.
_TWILIO_RATE_LIMITED = {20429, 14107}


def _twilio_http_client(timeout: float) -> Any:
    from twilio.http.http_client import TwilioHttpClient

    class RecordingHttpClient(TwilioHttpClient):
        """Keeps the last answer's headers: Twilio's exceptions drop `Retry-After`."""

        last_headers: Mapping[str, str] | None = None

        def request(self, *args: Any, **kwargs: Any) -> Any:
            response = super().request(*args, **kwargs)
            self.last_headers = response.headers
            return response

    return RecordingHttpClient(timeout=timeout)


class TwilioSmsChannel:
    """Sends through Twilio's Messages API (`TWILIO_API_URL`, the real API by default)."""

    kind: ClassVar[str] = "sms"
    name: ClassVar[str] = "twilio"

    def __init__(self) -> None:
        for setting in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SMS_FROM"):
            if not getattr(settings, setting):
                raise ImproperlyConfigured(f"{setting}: is required when SMS_PROVIDER=twilio")
        self.sender: str = settings.SMS_FROM
        self.timeout: float = settings.SMS_TIMEOUT

    def send(self, message: OutgoingMessage) -> SendResult:
        from twilio.base.exceptions import TwilioException
        from twilio.rest import Client

        phone = normalize_phone(message.recipient)
        masked = mask_text(phone)
        http_client = _twilio_http_client(self.timeout)
        # environment={} keeps the SDK from reading TWILIO_* region/edge from os.environ.
        client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=http_client,
            environment={},
        )
        client.api.base_url = settings.TWILIO_API_URL.rstrip("/")
        try:
            created = client.messages.create(to=phone, from_=self.sender, body=_sms_text(message))
        except TwilioException as exc:
            raise self._error(exc, http_client.last_headers, masked) from exc
        except requests.RequestException as exc:
            logger.warning("twilio: %s sending to %s", type(exc).__name__, masked)
            raise DeliveryError(
                f"Twilio unreachable: {type(exc).__name__}", permanent=False
            ) from exc
        return SendResult(provider_id=str(created.sid or ""))

    def _error(
        self, exc: Exception, headers: Mapping[str, str] | None, masked: str
    ) -> DeliveryError:
        status = int(getattr(exc, "status", 0) or 0)
        code = int(getattr(exc, "code", 0) or 0)
        text = getattr(exc, "msg", None) or getattr(exc, "detail", None) or ""
        detail = f"Twilio {status} code {code}: {mask_text(str(text))[:300]}"
        if status == 429 or code in _TWILIO_RATE_LIMITED:
            retry_after = retry_after_seconds(headers)
            logger.warning("twilio: rate limited, retry after %s s", retry_after)
            return DeliveryError(detail, permanent=False, retry_after=retry_after)
        if status >= 500 or status == 0:
            logger.warning("twilio: %s sending to %s", detail, masked)
            return DeliveryError(detail, permanent=False)
        if status in (401, 403) or code in _TWILIO_CONFIG:
            logger.error("twilio: configuration error (TWILIO_*/SMS_FROM): %s", detail)
        else:
            logger.warning("twilio: rejected message to %s: %s", masked, detail)
        return DeliveryError(detail, permanent=True)
