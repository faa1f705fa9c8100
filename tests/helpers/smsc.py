"""SMSC.ru for the tests: a running SMSC sandbox, with the settings pointing the SMSC channel at
it (and the credentials it expects) while it runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.test import override_settings

from sandboxes.smsc import SmscSandbox

SMSC_LOGIN = "vk-login"
SMSC_PASSWORD = "smsc-secret-pass"


@contextmanager
def smsc_sandbox(**extra: object) -> Iterator[SmscSandbox]:
    with (
        SmscSandbox(login=SMSC_LOGIN, password=SMSC_PASSWORD) as smsc,
        override_settings(
            SMSC_LOGIN=SMSC_LOGIN,
            SMSC_PASSWORD=SMSC_PASSWORD,
            SMSC_API_URL=smsc.url + "/",
            SMS_FROM="VendKiosk",
            SMS_TIMEOUT=4.0,
            **extra,
        ),
    ):
        yield smsc
