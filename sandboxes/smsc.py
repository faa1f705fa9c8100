"""A local stand-in for SMSC.ru's HTTP API: `/sys/send.php`, the one call the SMS channel makes.

    with SmscSandbox(login="vk-login", password="secret") as smsc:   # SMSC_API_URL = smsc.url
        smsc.error_code = 7          # the next answers are SMSC error 7 (invalid number)
        smsc.http_status = 503       # or: HTTP 503 ("busy"); 429 sends `retry_after` too
        smsc.raw_answer = "<html>"   # or: HTTP 200 with a body that is not JSON
        smsc.delay = 2.0             # or: every answer this many seconds late
        ...
        assert smsc.sent()[0]["phones"] == ["79161234567"]

Form fields (POST) or query parameters (GET): `login`, `psw`, `phones` (comma-separated), `mes`,
`fmt`, `charset`, `sender`. With `fmt=3` the answer is JSON (`{"id": N, "cnt": 1}`, or
`{"error": ..., "error_code": N, "id": N}`), otherwise SMSC's text lines. Like SMSC, errors are
HTTP 200; wrong credentials are error 2 when the sandbox was given a login. Every request is
recorded in `calls`, accepted or not. Run one: `python -m sandboxes.smsc --port 8082`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

from sandboxes.base import (
    Response,
    ServedSandbox,
    form_field,
    json_response,
    serve_main,
    text_response,
)

_SEND_PATH = "/sys/send.php"
_ERROR_TEXTS = {
    1: "parameters error",
    2: "authorise error",
    3: "no money",
    4: "IP is blocked",
    5: "invalid date format",
    6: "message is denied",
    7: "invalid phone format",
    8: "cannot deliver to this number",
    9: "duplicate request, wait a minute",
}


class SmscCall(NamedTuple):
    """One request as the sandbox saw it; `outcome` is "sent", "error N" or "http N"."""

    at: float  # time.monotonic()
    form: dict[str, list[str]]
    outcome: str
    method: str
    path: str
    headers: dict[str, str]


class SmscSandbox(ServedSandbox):
    """SMSC.ru on a local port. The switches are plain attributes, read on every request:
    `http_status` (not 200: answer that status, with `Retry-After: retry_after` when set),
    else `error_code` (an SMSC error, `error_text` its description), else `raw_answer` (HTTP 200
    with this body), else the message is accepted with the next id (`next_id`)."""

    name = "SMSC"

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        login: str | None = None,
        password: str | None = None,
        first_id: int = 1000,
    ) -> None:
        super().__init__(port, host)
        self.login = login
        self.password = password
        self.next_id = first_id
        self.http_status = 200
        self.retry_after: str | None = None
        self.error_code: int | None = None
        self.error_text = ""
        self.raw_answer: str | None = None
        self.delay = 0.0
        self.calls: list[SmscCall] = []
        self._lock = threading.Lock()

    def sent(self) -> list[dict[str, list[str]]]:
        """The forms of the messages SMSC accepted."""
        with self._lock:
            return [call.form for call in self.calls if call.outcome == "sent"]

    def reset(self) -> None:
        """Every switch off, the request log empty."""
        with self._lock:
            self.http_status, self.retry_after, self.error_code = 200, None, None
            self.error_text, self.raw_answer, self.delay = "", None, 0.0
            self.calls.clear()

    def dispatch(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        parts = urlsplit(target)
        form = parse_qs(body.decode("utf-8", "replace") if method == "POST" else parts.query)
        with self._lock:
            response, outcome = self._answer(parts.path, form)
            call = SmscCall(
                time.monotonic(), form, outcome, method, parts.path, dict(headers or {})
            )
            self.calls.append(call)
            delay = self.delay
        if delay > 0:
            time.sleep(delay)
        return response

    def _answer(self, path: str, form: Mapping[str, Sequence[str]]) -> tuple[Response, str]:
        if path != _SEND_PATH:
            return text_response(404, "Not Found"), "http 404"
        if self.http_status != 200:
            extra = {"Retry-After": self.retry_after} if self.retry_after else {}
            return text_response(self.http_status, "busy", extra), f"http {self.http_status}"
        as_json = form_field(form, "fmt") == "3"
        code = self.error_code
        if code is None and self.login is not None:
            given = (form_field(form, "login"), form_field(form, "psw"))
            if given != (self.login, self.password):
                code = 2
        if code is None and not (form_field(form, "phones") and form_field(form, "mes")):
            code = 1
        if code is not None:
            message_id = self._take_id()
            text = self.error_text or _ERROR_TEXTS.get(code, "error")
            if as_json:
                payload = {"error": text, "error_code": code, "id": message_id}
                return json_response(200, payload), f"error {code}"
            return text_response(
                200, f"ERROR = {code} ({text}), ID - {message_id}"
            ), f"error {code}"
        if self.raw_answer is not None:
            return text_response(200, self.raw_answer), "raw"
        message_id = self._take_id()
        count = len([phone for phone in form_field(form, "phones").split(",") if phone.strip()])
        if as_json:
            return json_response(200, {"id": message_id, "cnt": count}), "sent"
        return text_response(200, f"OK - {count} SMS, ID - {message_id}"), "sent"

    def _take_id(self) -> int:
        message_id = self.next_id
        self.next_id += 1
        return message_id


def main(argv: Sequence[str] | None = None) -> int:
    return serve_main(
        argv,
        name="SMSC",
        module="sandboxes.smsc",
        default_port=8082,
        setting="SMSC_API_URL",
        build=lambda host, port: SmscSandbox(port, host),
    )


if __name__ == "__main__":
    raise SystemExit(main())
