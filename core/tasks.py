"""Project-wide housekeeping tasks (default queue)."""

from __future__ import annotations

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone


@shared_task
def clear_expired_web_sessions() -> int:
    """Delete expired admin/API web sessions; returns how many. Safe to re-run."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
