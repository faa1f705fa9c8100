"""Report pipeline task (routed to the `reports` queue): generate the PDF. Its e-mail and SMS
go through the delivery log (`notifications.tasks.deliver_message`)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from reports import services

# The hard limit stays below the generation lease, so a lease never lapses under a live render.
_LEASE = settings.REPORTS_GENERATION_LEASE_SECONDS


@shared_task(acks_late=True, soft_time_limit=_LEASE * 3 // 4, time_limit=_LEASE * 9 // 10)
def generate_report(*, report_id: str) -> str:
    """Render and store the PDF, then record its deliveries. Safe to re-run (claimed row);
    a failure is retried from the row (`next_attempt_at`), by this queue or the sweep."""
    outcome = services.generate(report_id)
    if outcome.retry_in is not None:
        services.queue_generation(report_id, countdown=outcome.retry_in)
    return outcome.status
