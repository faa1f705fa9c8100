"""Payment tasks: the DEV emulator's confirmation, webhook processing, expiry and polling."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from payments import services
from payments.providers import ProviderError, ProviderUnavailable


@shared_task(acks_late=True)
def confirm_dev_intent(*, intent_id: str) -> bool:
    """DEV emulator: confirm a pending DEV intent (its countdown is over). Safe to re-run."""
    return services.confirm_dev_intent(intent_id, source="dev_emulator")


@shared_task(acks_late=True)
def sweep_due_dev_intents() -> int:
    """Confirm DEV intents whose `due_at` passed (fallback of the countdown task). Safe to
    re-run."""
    return services.sweep_due_dev_intents()


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(ProviderUnavailable,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def process_webhook_event(self: Any, *, event_id: int) -> str:
    """Re-read the payment a notification names and apply what the PSP's API says. Safe to
    re-run: each (event, payment) is applied at most once."""
    return services.process_webhook_event(event_id)


@shared_task(acks_late=True)
def expire_payment_intents() -> int:
    """Expire unpaid intents past their expiry (re-reading each at the PSP first). Safe to
    re-run."""
    return services.expire_intents()


@shared_task(acks_late=True)
def poll_payment_intents() -> dict[str, int]:
    """Re-read intents still pending (and recently closed ones) at the PSP. Safe to re-run."""
    return services.poll_intents()


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(ProviderError,),
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=6,
)
def capture_payment_intent(self: Any, *, intent_id: str) -> str:
    """Capture the held money of a delivered service. Safe to re-run: captured once (the PSP
    de-duplicates by the capture key); the poller retries past the last attempt."""
    return services.capture_intent(intent_id)
