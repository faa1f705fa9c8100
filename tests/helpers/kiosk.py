"""Kiosks with API clients, and small waits for work done by the Celery worker."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from kiosk.models import Kiosk, Session
from payments.models import PaymentIntent
from tenancy.models import Owner

_counter = itertools.count(1)

DIAGNOSTICS = {
    "vehicle_make": "Toyota",
    "vehicle_model": "Camry",
    "vin": "JTNB11HK103456789",
    "dtc_codes": [
        {
            "code": "P0420",
            "description": "Эффективность катализатора ниже порога",
            "severity": "medium",
        },
        {"code": "P0301", "description": "Пропуски зажигания в цилиндре 1", "severity": "high"},
    ],
    "scan_duration_ms": 42000,
}
THICKNESS = {
    "vehicle_make": "Lada",
    "vehicle_model": "Vesta",
    "readings": [
        {"panel": "hood", "thickness_um": 118},
        {"panel": "front_left_door", "thickness_um": 240},
        {"panel": "roof", "thickness_um": 520},
    ],
}


@dataclass
class KioskClient:
    kiosk: Kiosk
    token: str
    client: APIClient


def make_kiosk(owner: Owner | None = None, **fields: Any) -> KioskClient:
    n = next(_counter)
    owner = owner or Owner.objects.create(name=f"Автосервис {n}")
    kiosk = Kiosk(owner=owner, name=f"Киоск {n}", brand_name="АвтоПроверка", **fields)
    token = kiosk.set_token()
    kiosk.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Kiosk {token}")
    return KioskClient(kiosk=kiosk, token=token, client=client)


def paid_session(
    k: KioskClient,
    session_type: str = "thickness",
    *,
    email: str = "client@example.com",
    phone: str = "+79161234567",
) -> Session:
    """An active session of the kiosk with a succeeded payment: ready for its report."""
    session = Session.objects.create(
        kiosk=k.kiosk,
        type=session_type,
        contact_email=email,
        contact_phone=phone,
        ttl_ms=60_000,
        expires_at=timezone.now() + timedelta(minutes=1),
    )
    PaymentIntent.objects.create(
        session=session,
        amount=k.kiosk.price_for(session_type),
        provider="dev",
        status="succeeded",
        capture_status="held",
        qr_code_data=f"http://127.0.0.1:8000/dev-pay/{session.pk}?sum=30000",
        idempotency_key=f"vk-intent-{uuid.uuid4()}",
        expires_at=timezone.now() + timedelta(minutes=15),
    )
    return session


def wait_for(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.2) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)


def metric_value(text: str, name: str, **labels: str) -> float:
    """The sample `name{labels}` in Prometheus text (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        sample, _, label_text = head.partition("{")
        if sample != name:
            continue
        if all(f'{key}="{val}"' in label_text for key, val in labels.items()):
            total += float(value)
    return total
