"""PDF reports of a session and their delivery per channel (e-mail with the PDF, SMS link)."""

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
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    generated_at = models.DateTimeField(_("generated at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.id}"


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class ReportDelivery(models.Model):
    """Delivery of one report over one channel, with its attempts and last error."""

    report = models.ForeignKey(
        Report, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("report")
    )
    channel = models.CharField(_("channel"), max_length=8, choices=DeliveryChannel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    provider_id = models.CharField(_("provider id"), max_length=200, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("report delivery")
        verbose_name_plural = _("report deliveries")
        ordering = ["report_id", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["report", "channel"], name="report_delivery_unique")
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.status}"
