"""Demo data: one kiosk of the demo owner with a fixed DEV token (DEV only)."""

from __future__ import annotations

from django.db import transaction

from kiosk.models import Kiosk, hash_token
from tenancy.demo import DEMO_OWNER_NAME
from tenancy.models import Owner

DEMO_KIOSK_NAME = "Демо-киоск: автосервис"
# Fixed so the kiosk UI and the README can use it; seed_demo refuses to run in PROD.
DEMO_KIOSK_TOKEN = "demo-kiosk-token-2026-dev-only"  # noqa: S105


@transaction.atomic
def seed(log: list[str]) -> Kiosk:
    """Create or reset the demo kiosk and its token. Safe to re-run."""
    owner = Owner.objects.get(name=DEMO_OWNER_NAME)
    kiosk = Kiosk.objects.filter(owner=owner, name=DEMO_KIOSK_NAME).first() or Kiosk(
        owner=owner, name=DEMO_KIOSK_NAME
    )
    kiosk.brand_name = "АвтоПроверка"
    kiosk.brand_address = "Москва, ул. Демонстрационная, 1"
    kiosk.brand_support = "support@example.com"
    kiosk.is_active = True
    Kiosk.objects.filter(token_hash=hash_token(DEMO_KIOSK_TOKEN)).exclude(pk=kiosk.pk).delete()
    kiosk.set_token(DEMO_KIOSK_TOKEN)
    kiosk.save()
    log.append(
        f"Kiosk #{kiosk.pk}: {kiosk.name} — header 'Authorization: Kiosk {DEMO_KIOSK_TOKEN}'"
    )
    return kiosk
