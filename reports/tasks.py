"""Report pipeline tasks (routed to the `reports` queue): generate the PDF, deliver it."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from reports import services


@shared_task(bind=True, acks_late=True, max_retries=3)
def generate_report(self: Any, *, report_id: str) -> bool:
    """Render and store the PDF, then queue its deliveries. Safe to re-run."""
    try:
        return services.generate(report_id)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            services.fail_generation(report_id, f"{type(exc).__name__}: {exc}")
            return False
        raise self.retry(exc=exc, countdown=10 * 2**self.request.retries) from exc


@shared_task(bind=True, acks_late=True)
def deliver_report(self: Any, *, report_id: str, channel: str) -> str:
    """Send the report over one channel (e-mail with the PDF, SMS with the link). Safe to
    re-run; transient failures retry with back-off, permanent ones are recorded once."""
    max_attempts = settings.REPORTS_MAX_DELIVERY_ATTEMPTS
    try:
        return services.deliver(
            report_id, channel, final_attempt=self.request.retries + 1 >= max_attempts
        )
    except services.TransientDeliveryError as exc:
        base = settings.REPORTS_RETRY_BASE_SECONDS
        countdown = exc.retry_after or min(600, base * 2**self.request.retries)
        raise self.retry(exc=exc, countdown=countdown, max_retries=max_attempts) from exc
