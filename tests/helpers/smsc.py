"""SMSC.ru as `responses` sees it: the settings pointing the SMSC channel at a fake host, and a
stub answering `POST /sys/send.php` the way the test asks (accepted, HTTP 503, an error code)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

from django.test import override_settings

SMSC_URL = "https://smsc.test/sys/send.php"
SMSC_PASSWORD = "smsc-secret-pass"


@contextmanager
def smsc_settings(**extra: object) -> Iterator[None]:
    with override_settings(
        SMSC_LOGIN="vk-login",
        SMSC_PASSWORD=SMSC_PASSWORD,
        SMSC_API_URL="https://smsc.test/",
        SMS_FROM="VendKiosk",
        SMS_TIMEOUT=4.0,
        **extra,
    ):
        yield


class SmscStub:
    """A `responses` callback for SMSC. `http_status` other than 200 answers that status (503:
    busy); else `error_code` answers an SMSC error; else the message is accepted. `calls` keeps
    (monotonic time, form fields, answer status) of every request."""

    def __init__(self) -> None:
        self.http_status = 200
        self.error_code: int | None = None
        self.calls: list[tuple[float, dict[str, list[str]], str]] = []
        self._lock = threading.Lock()

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        with self._lock:
            form = parse_qs(str(request.body))
            if self.http_status != 200:
                answer: tuple[int, dict[str, str], str] = (self.http_status, {}, "busy")
                outcome = f"http {self.http_status}"
            elif self.error_code is not None:
                body = f'{{"error": "refused", "error_code": {self.error_code}}}'
                answer = (200, {"Content-Type": "application/json"}, body)
                outcome = f"error {self.error_code}"
            else:
                body = f'{{"id": {len(self.calls) + 1000}, "cnt": 1}}'
                answer = (200, {"Content-Type": "application/json"}, body)
                outcome = "sent"
            self.calls.append((time.monotonic(), form, outcome))
            return answer

    def sent(self) -> list[dict[str, list[str]]]:
        """The forms of the messages SMSC accepted."""
        return [form for _at, form, outcome in self.calls if outcome == "sent"]
