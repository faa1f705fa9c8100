"""A local stand-in for SendGrid's v3 Mail Send API (`POST /v3/mail/send`). The SendGrid SDK
speaks urllib, which `responses` cannot see, so the e-mail channel is tested against this.

    with SendGridSandbox() as sendgrid:                 # SENDGRID_API_URL = sendgrid.url
        sendgrid.answers = [(429, {"Retry-After": "7"}, b"{}", 0.0)]
        ...
        assert sendgrid.requests[0].json["subject"] == "..."

`answers` are (status, headers, body, delay in seconds), answered in order; the last one
repeats. The default accepts every message: 202 with an `X-Message-Id`. Every request is
recorded in `requests`. Run one: `python -m sandboxes.sendgrid --port 8084`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sandboxes.base import Response, ServedSandbox, json_response, serve_main

Answer = tuple[int, dict[str, str], bytes, float]
ACCEPTED: Answer = (202, {"X-Message-Id": "sg-msg-1"}, b"", 0.0)


@dataclass(frozen=True)
class SendGridRequest:
    path: str
    headers: dict[str, str]
    json: Any


class SendGridSandbox(ServedSandbox):
    name = "SendGrid"

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__(port, host)
        self.requests: list[SendGridRequest] = []
        self.answers: list[Answer] = [ACCEPTED]
        self._lock = threading.Lock()

    def dispatch(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        path = urlsplit(target).path
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = None
        with self._lock:
            self.requests.append(SendGridRequest(path, dict(headers or {}), payload))
            if method != "POST" or path != "/v3/mail/send":
                return json_response(404, {"errors": [{"message": "not found"}]})
            answers = self.answers
            status, extra, content, delay = answers.pop(0) if len(answers) > 1 else answers[0]
        if delay > 0:
            time.sleep(delay)
        return Response(status, content, content_type="application/json", headers=dict(extra))


def main(argv: Sequence[str] | None = None) -> int:
    return serve_main(
        argv,
        name="SendGrid",
        module="sandboxes.sendgrid",
        default_port=8084,
        setting="SENDGRID_API_URL",
        build=lambda host, port: SendGridSandbox(port, host),
    )


if __name__ == "__main__":
    raise SystemExit(main())
