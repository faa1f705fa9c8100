"""Kiosk tasks: session expiry."""

from __future__ import annotations

from celery import shared_task

from kiosk import services


@shared_task(acks_late=True)
def expire_sessions() -> int:
    """Expire active sessions past their expiry and cancel their unpaid intents. Safe to
    re-run."""
    return services.expire_sessions()
