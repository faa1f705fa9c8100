"""Celery tasks of the inventory app."""

from __future__ import annotations

from celery import shared_task

from inventory import digest


@shared_task(acks_late=True)
def send_inventory_digest() -> list[int]:
    """Drain unnotified stock changes into per-owner digests and queue them. Safe to re-run."""
    return digest.build_digests()
