"""PDF reports of a session; their e-mail / SMS deliveries are rows of the one delivery log
(`notifications.Delivery`, `source="report:<id>"`)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class ReportKind(models.TextChoices):
    DIAGNOSTICS = "diagnostics", _("Diagnostics")
    THICKNESS = "thickness", _("Paint thickness")


class ReportStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    GENERATED = "generated", _("Generated")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Report(models.Model):
    """One PDF for one session: `pending` → `generated` → `delivered`, or `failed` at a stage."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(
        "kiosk.Session", on_delete=models.PROTECT, related_name="reports", verbose_name=_("session")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ReportKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=ReportStatus.choices, default=ReportStatus.PENDING
    )
    failed_stage = models.CharField(_("failed stage"), max_length=16, blank=True)
    error = models.TextField(_("error"), blank=True)
    data = models.JSONField(_("input data"), default=dict)
    file = models.FileField(_("PDF"), upload_to="reports/", blank=True)
    generation_attempts = models.PositiveSmallIntegerField(_("generation attempts"), default=0)
    # The outbox of the generation: a worker claims the row (a lease) before rendering; the
    # sweep queues it again when its message was lost, its lease lapsed or its retry is due.
    lease_until = models.DateTimeField(_("rendering until"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    enqueued_at = models.DateTimeField(_("enqueued at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    generated_at = models.DateTimeField(_("generated at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="report_pending",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.id}"


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class DeliveryStatus(models.TextChoices):
    """A report delivery as the API shows it (the row itself is a `notifications.Delivery`)."""

    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
