"""Retention: old delivery rows, DEV outbox messages and finished digests."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from notifications.models import FINAL_STATUSES, Delivery, Digest, OutboxMessage


def purge_old_records() -> dict[str, int]:
    """Delete final deliveries, outbox rows and closed digests older than their retention
    (settings, in days). Safe to re-run."""
    now = timezone.now()
    deliveries_before = now - timedelta(days=settings.DELIVERY_RETENTION_DAYS)
    counts = {
        "deliveries": Delivery.objects.filter(
            created_at__lt=deliveries_before, status__in=FINAL_STATUSES
        ).delete()[0],
        "digests": Digest.objects.filter(
            completed_at__lt=deliveries_before, deliveries__isnull=True
        ).delete()[0],
        "outbox": OutboxMessage.objects.filter(
            created_at__lt=now - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
        ).delete()[0],
    }
    return counts
