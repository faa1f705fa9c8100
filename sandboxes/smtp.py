"""A local SMTP server (aiosmtpd) that records what it accepts and refuses chosen recipients.

    with SmtpSandbox() as smtp:                       # SMTP_HOST = smtp.host, SMTP_PORT = smtp.port
        smtp.handler.refuse["a@b.ru"] = "451 4.7.1 Greylisted, try again later"
        ...
        [(recipients, raw)] = smtp.handler.received

Plain SMTP, no TLS and no authentication. Run one: `python -m sandboxes.smtp --port 8025`.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from sandboxes.base import free_port, run_in_foreground


class RecordingSmtpHandler:
    """Accepts mail; refuses the recipients listed in `refuse` with the given reply (e.g.
    "550 ..." for good, "451 ..." while greylisting). `rcpt_attempts` keeps every RCPT TO with
    its monotonic time, accepted or not."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []
        self.refuse: dict[str, str] = {}
        self.rcpt_attempts: list[tuple[str, float]] = []

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        self.rcpt_attempts.append((address, time.monotonic()))
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.received.append((list(envelope.rcpt_tos), content))
        return "250 Message accepted"


class SmtpSandbox:
    """The recording SMTP server on a local port (a free one unless given), in its own thread."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host = host
        # aiosmtpd checks its server is up by connecting to the port: it needs a real number.
        self.port = port or free_port()
        self.handler = RecordingSmtpHandler()
        self._controller: Controller | None = None
        self._server_log = logging.getLogger("mail.log")
        self._server_level = self._server_log.level

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> Self:
        if self._controller is not None:
            return self
        # aiosmtpd's own log echoes every address; the channel's log is what tests check.
        self._server_level = self._server_log.level
        self._server_log.setLevel(logging.WARNING)
        controller = Controller(self.handler, hostname=self.host, port=self.port)
        try:
            controller.start()
        except BaseException:
            self._server_log.setLevel(self._server_level)
            raise
        self._controller = controller
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is None:
            return
        controller.stop()
        self._server_log.setLevel(self._server_level)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.smtp", description=__doc__)
    parser.add_argument("--port", type=int, default=8025, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    options = parser.parse_args(argv)
    sandbox = SmtpSandbox(options.port, options.host)

    def describe() -> list[str]:
        return [
            f"SMTP sandbox at {sandbox.url}  "
            f"(SMTP_HOST={sandbox.host} SMTP_PORT={sandbox.port} SMTP_USE_TLS=0)"
        ]

    run_in_foreground(sandbox, "SMTP", describe, lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
