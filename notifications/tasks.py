"""Celery tasks of the notifications queue (routed by module in settings)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from notifications import alerts, housekeeping, services


@shared_task(acks_late=True, ignore_result=True)
def deliver_message(*, delivery_id: int) -> str:
    """Send one recorded delivery; retries transient failures. Safe to run twice (claimed row)."""
    outcome = services.deliver(delivery_id)
    # Longer waits stay in the row (`next_attempt_at`); the minute sweep picks them up.
    if outcome.retry_in is not None and outcome.retry_in <= settings.TELEGRAM_MAX_COUNTDOWN_SECONDS:
        services.enqueue_delivery(delivery_id, countdown=outcome.retry_in)
    return outcome.status


@shared_task(acks_late=True)
def sweep_pending_deliveries() -> int:
    """Re-queue due retries and deliveries of crashed workers; close finished digests; flush
    waiting admin alerts that are due. Safe to re-run. (Beat runs `core.tasks.sweep_due_work`,
    which runs these sweeps among the others.)"""
    alerts.flush_due()
    return services.sweep_pending()


@shared_task(acks_late=True)
def flush_admin_alerts() -> int:
    """Send the waiting admin alerts, grouped and capped. Safe to re-run."""
    return len(alerts.flush())


@shared_task(acks_late=True)
def purge_old_notification_records() -> dict[str, int]:
    """Apply the retention settings to deliveries, outbox and digests. Safe to re-run."""
    return housekeeping.purge_old_records()
