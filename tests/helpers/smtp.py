"""A local SMTP server (aiosmtpd) that records what it accepts and refuses chosen recipients,
with the settings pointing the SMTP e-mail channel at it."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller
from django.test import override_settings


def free_port() -> int:
    """A local TCP port nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RecordingSmtpHandler:
    """Accepts mail; refuses the recipients listed in `refuse` with the given reply (e.g.
    "550 ..." for good, "451 ..." while greylisting). `rcpt_attempts` keeps every RCPT TO with
    its monotonic time, accepted or not."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []
        self.refuse: dict[str, str] = {}
        self.rcpt_attempts: list[tuple[str, float]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_attempts.append((address, time.monotonic()))
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted"


@contextmanager
def local_smtp_server(**settings_overrides: object) -> Iterator[RecordingSmtpHandler]:
    """A running SMTP server on a free port; SMTP_* settings point at it while it runs."""
    handler = RecordingSmtpHandler()
    port = free_port()
    # The test server's own log echoes every address; our channel's log is what is checked.
    server_log = logging.getLogger("mail.log")
    server_level = server_log.level
    server_log.setLevel(logging.WARNING)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=port,
            SMTP_USER="",
            SMTP_PASS="",
            SMTP_USE_TLS=False,
            SMTP_USE_SSL=False,
            EMAIL_FROM="Киоск <kiosk@vk.example>",
            EMAIL_TIMEOUT=5.0,
            **settings_overrides,
        ):
            yield handler
    finally:
        controller.stop()
        server_log.setLevel(server_level)
