"""Report deliveries move into the one delivery log (`notifications.Delivery`).

Finished rows (sent, failed) are copied with their attempts, error and provider id. A pending
row has no rendered message yet: its generated report goes back to `pending` (its PDF kept), and
the sweep records the missing deliveries the way a new report gets them.
"""

import uuid

from django.db import migrations, models

_FINAL = {"sent": "sent", "failed": "permanently_failed"}


def move_report_deliveries(apps, schema_editor):
    ReportDelivery = apps.get_model("reports", "ReportDelivery")
    Report = apps.get_model("reports", "Report")
    Delivery = apps.get_model("notifications", "Delivery")
    reopen = set()
    rows = ReportDelivery.objects.select_related("report__session__kiosk").order_by("id")
    for row in rows.iterator():
        report = row.report
        if row.status not in _FINAL:
            if report.file:
                reopen.add(report.pk)
            continue
        Delivery.objects.get_or_create(
            dedup_key=f"report:{report.pk}:{row.channel}",
            defaults={
                "owner_id": report.session.kiosk.owner_id,
                "channel": row.channel,
                "recipient": row.recipient,
                "template": f"report_{row.channel}",
                "text": "",
                "source": f"report:{report.pk}",
                "group_key": uuid.uuid4().hex,
                "status": _FINAL[row.status],
                "attempts": row.attempts,
                "last_error": row.last_error,
                "provider_id": row.provider_id[:100],
                "sent_at": row.sent_at,
            },
        )
    Report.objects.filter(pk__in=reopen).update(status="pending", enqueued_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("kiosk", "0001_initial"),
        ("reports", "0001_initial"),
        ("notifications", "0004_outbox_fields_and_admin_alerts"),
    ]

    operations = [
        migrations.AddField(
            model_name="report",
            name="enqueued_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="enqueued at"),
        ),
        migrations.RunPython(move_report_deliveries, migrations.RunPython.noop),
        migrations.AddField(
            model_name="report",
            name="lease_until",
            field=models.DateTimeField(blank=True, null=True, verbose_name="rendering until"),
        ),
        migrations.AddField(
            model_name="report",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="next attempt at"),
        ),
        migrations.AddIndex(
            model_name="report",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["created_at"],
                name="report_pending",
            ),
        ),
        migrations.DeleteModel(
            name="ReportDelivery",
        ),
    ]
