"""A local stand-in for Twilio's Messages API: the one call the SMS channel makes through the SDK
(`client.api.base_url` pointed at `sandbox.url`).

    with TwilioSandbox(account_sid="AC...", auth_token="secret") as twilio:
        twilio.fail(400, 21211, "The 'To' number is not valid")   # the next create answers 400
        twilio.fail(429, 20429, "Too Many Requests", retry_after=5)
        twilio.fail(503, body="unavailable")                      # not JSON, like a proxy
        twilio.slow(2.0)                                          # every answer 2 s late
        ...
        assert twilio.messages()[0]["To"] == ["+79161234567"]

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with form fields `To`, `From`, `Body` and
HTTP basic auth (the account SID and auth token). Answers 201 with the message resource, or a
Twilio error body (`{"code", "message", "more_info", "status"}`): 401 code 20003 for other
credentials, 400 codes 21602/21603/21604 for a missing body, sender or number. Every request is
recorded in `requests`. Run one: `python -m sandboxes.twilio --port 8083`.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandboxes.base import (
    Response,
    ServedSandbox,
    form_field,
    json_response,
    serve_main,
    text_response,
)

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "sandbox-auth-token"  # noqa: S105 - a public sandbox credential
_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
_REQUIRED = (
    ("To", 21604, "A 'To' phone number is required."),
    ("From", 21603, "A 'From' phone number is required."),
    ("Body", 21602, "Message body is required."),
)


@dataclass(frozen=True)
class TwilioRequest:
    """One request as the sandbox saw it; `sid` is the created message's, when one was."""

    at: float  # time.monotonic()
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]
    status: int
    sid: str | None = None


@dataclass
class _Fault:
    status: int
    code: int | None
    message: str
    body: str | None
    count: int
    headers: dict[str, str] = field(default_factory=dict)


class TwilioSandbox(ServedSandbox):
    """Twilio on a local port: creates messages for one account, fails on request."""

    name = "Twilio"

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
    ) -> None:
        super().__init__(port, host)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[TwilioRequest] = []
        self._faults: list[_Fault] = []
        self._delay = 0.0
        self._created = 0
        self._lock = threading.Lock()

    # --- switches ------------------------------------------------------------------------------

    def fail(
        self,
        status: int,
        code: int | None = None,
        message: str = "",
        *,
        retry_after: float | None = None,
        body: str | None = None,
        count: int = 1,
    ) -> None:
        """The next `count` creates (-1: all, until `reset()`) answer `status`: a Twilio error
        with `code` and `message`, or `body` as plain text; `Retry-After` when given."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        with self._lock:
            self._faults.append(_Fault(status, code, message, body, count, headers))

    def slow(self, seconds: float) -> None:
        """Answer every request `seconds` late."""
        with self._lock:
            self._delay = seconds

    def reset(self) -> None:
        """Faults off, the request log empty."""
        with self._lock:
            self._faults.clear()
            self._delay = 0.0
            self.requests.clear()

    def messages(self) -> list[dict[str, list[str]]]:
        """The forms of the messages Twilio created."""
        with self._lock:
            return [request.form for request in self.requests if request.sid]

    # --- the API -------------------------------------------------------------------------------

    def dispatch(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        path = urlsplit(target).path
        form = parse_qs(body.decode("utf-8", "replace"))
        seen = dict(headers or {})
        with self._lock:
            response, sid = self._answer(method, path, seen, form)
            self.requests.append(
                TwilioRequest(time.monotonic(), method, path, seen, form, response.status, sid)
            )
            delay = self._delay
        if delay > 0:
            time.sleep(delay)
        return response

    def _answer(
        self, method: str, path: str, headers: Mapping[str, str], form: Mapping[str, list[str]]
    ) -> tuple[Response, str | None]:
        match = _MESSAGES.match(path)
        if match is None:
            return _error(404, 20404, f"The requested resource {path} was not found"), None
        if method != "POST":
            return _error(405, 20004, "Method not allowed"), None
        if not self._authorised(match["sid"], headers):
            return _error(401, 20003, "Authenticate"), None
        fault = self._take_fault()
        if fault is not None:
            if fault.body is not None:
                return text_response(fault.status, fault.body, fault.headers), None
            return _error(fault.status, fault.code, fault.message, fault.headers), None
        for name, code, message in _REQUIRED:
            if not form_field(form, name):
                return _error(400, code, message), None
        self._created += 1
        sid = f"SM{self._created:032x}"
        return json_response(201, self._resource(sid, form)), sid

    def _authorised(self, sid: str, headers: Mapping[str, str]) -> bool:
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        scheme, _, encoded = value.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return sid == user == self.account_sid and password == self.auth_token

    def _take_fault(self) -> _Fault | None:
        for fault in self._faults:
            if fault.count != 0:
                fault.count -= 1
                return fault
        return None

    def _resource(self, sid: str, form: Mapping[str, list[str]]) -> dict[str, Any]:
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": form_field(form, "To"),
            "from": form_field(form, "From"),
            "body": form_field(form, "Body"),
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "price": None,
            "error_code": None,
            "error_message": None,
            "uri": uri,
        }


def _error(
    status: int, code: int | None, message: str, headers: dict[str, str] | None = None
) -> Response:
    payload = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return json_response(status, payload, headers)


def main(argv: Sequence[str] | None = None) -> int:
    return serve_main(
        argv,
        name="Twilio",
        module="sandboxes.twilio",
        default_port=8083,
        setting="TWILIO_API_URL",
        build=lambda host, port: TwilioSandbox(port, host),
    )


if __name__ == "__main__":
    raise SystemExit(main())
