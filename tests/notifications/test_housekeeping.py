"""Retention: old final deliveries, DEV outbox rows and finished import runs are purged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.housekeeping import purge_old_records
from notifications.models import Delivery, DeliveryStatus, OutboxMessage
from notifications.services import queue_message
from tenancy.models import Owner
from vendista.models import ImportRun, RunStatus
from vendista.services.runs import purge_old_runs

pytestmark = pytest.mark.django_db


def test_old_records_are_purged_and_recent_or_pending_ones_kept(settings) -> None:
    settings.DELIVERY_RETENTION_DAYS = 30
    settings.OUTBOX_RETENTION_DAYS = 7
    settings.IMPORT_RUN_RETENTION_DAYS = 30
    long_ago = timezone.now() - timedelta(days=60)
    old_sent, old_pending, recent = (
        queue_message(recipient="1", template="t", text=str(i), enqueue=False)[0] for i in range(3)
    )
    Delivery.objects.filter(pk__in=[old_sent.pk, old_pending.pk]).update(created_at=long_ago)
    Delivery.objects.filter(pk=old_sent.pk).update(status=DeliveryStatus.SENT)
    outbox = OutboxMessage.objects.create(channel="telegram", recipient="1", text="x")
    OutboxMessage.objects.filter(pk=outbox.pk).update(created_at=long_ago)
    owner = Owner.objects.create(name="Архив")
    old_run = ImportRun.objects.create(
        owner=owner,
        kind="import",
        trigger="schedule",
        status=RunStatus.SUCCEEDED,
        finished_at=long_ago,
    )
    running = ImportRun.objects.create(
        owner=owner, kind="sync", trigger="schedule", status=RunStatus.RUNNING
    )

    counts = purge_old_records()
    runs_purged = purge_old_runs()

    assert counts["deliveries"] == 1 and counts["outbox"] == 1 and runs_purged == 1
    assert set(Delivery.objects.values_list("pk", flat=True)) == {old_pending.pk, recent.pk}
    assert not ImportRun.objects.filter(pk=old_run.pk).exists()
    assert ImportRun.objects.filter(pk=running.pk).exists()
