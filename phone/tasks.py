"""The bot's periodic work: owner alerts."""

from __future__ import annotations

from celery import shared_task

from core.jobs import enqueue
from phone import alerts
from tenancy.models import Owner


@shared_task(acks_late=True)
def check_alerts() -> int:
    """Queue one alert check per owner. Safe to re-run."""
    owner_ids = list(Owner.objects.values_list("id", flat=True))
    for owner_id in owner_ids:
        enqueue("phone.tasks.check_owner_alerts", owner_id=owner_id)
    return len(owner_ids)


@shared_task(acks_late=True)
def check_owner_alerts(*, owner_id: int) -> dict[str, int]:
    """Open, tell, clear and resolve one owner's alerts. Safe to re-run."""
    return alerts.check_owner_alerts(owner_id)
