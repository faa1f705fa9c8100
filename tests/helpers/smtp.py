"""The SMTP e-mail channel's settings pointed at a running local SMTP sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.test import override_settings

from sandboxes.smtp import RecordingSmtpHandler, SmtpSandbox


@contextmanager
def local_smtp_server(**settings_overrides: object) -> Iterator[RecordingSmtpHandler]:
    """A running SMTP server on a free port; SMTP_* settings point at it while it runs."""
    with (
        SmtpSandbox() as smtp,
        override_settings(
            SMTP_HOST=smtp.host,
            SMTP_PORT=smtp.port,
            SMTP_USER="",
            SMTP_PASS="",
            SMTP_USE_TLS=False,
            SMTP_USE_SSL=False,
            EMAIL_FROM="Киоск <kiosk@vk.example>",
            EMAIL_TIMEOUT=5.0,
            **settings_overrides,
        ),
    ):
        yield smtp.handler
