"""Payment intents (amounts in kopecks) and the PSP notifications we received."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    CANCELED = "canceled", _("Canceled")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


TERMINAL_STATUSES = (
    PaymentStatus.SUCCEEDED,
    PaymentStatus.CANCELED,
    PaymentStatus.FAILED,
    PaymentStatus.EXPIRED,
)


class RefundStatus(models.TextChoices):
    NONE = "", _("None")
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class PaymentIntent(models.Model):
    """What one session owes; `pending` until the PSP (or the DEV emulator) settles it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(
        "kiosk.Session",
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("session"),
    )
    amount = models.PositiveIntegerField(_("amount, kopecks"))
    currency = models.CharField(_("currency"), max_length=3, default="RUB")
    provider = models.CharField(_("provider"), max_length=16)
    provider_payment_id = models.CharField(
        _("provider payment id"), max_length=64, null=True, blank=True, unique=True
    )
    status = models.CharField(
        _("status"), max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    failure_reason = models.CharField(_("failure reason"), max_length=100, blank=True)
    qr_code_data = models.TextField(_("QR code data"), blank=True)
    idempotency_key = models.CharField(_("idempotence key"), max_length=64, unique=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    # DEV emulator: when the auto-confirmation is due (the countdown task's durable fallback).
    due_at = models.DateTimeField(_("DEV confirmation due at"), null=True, blank=True)
    last_polled_at = models.DateTimeField(_("last polled at"), null=True, blank=True)
    refund_status = models.CharField(
        _("refund status"), max_length=16, choices=RefundStatus.choices, blank=True, default=""
    )
    refund_id = models.CharField(_("refund id"), max_length=64, blank=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment intent")
        verbose_name_plural = _("payment intents")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="payment_status_expiry_idx"),
            models.Index(fields=["status", "due_at"], name="payment_status_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=PaymentStatus.values), name="payment_status_valid"
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.amount / 100:.2f} {self.currency} {self.status} ({self.id})"

    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def refund_idempotency_key(self) -> str:
        return f"vk-refund-{self.id}"

    @property
    def cancel_idempotency_key(self) -> str:
        return f"vk-cancel-{self.id}"


class WebhookEvent(models.Model):
    """One notification as received from the PSP. The body is never trusted: it only names the
    payment to re-read. An event is applied at most once (`applied` + the unique constraint)."""

    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    provider = models.CharField(_("provider"), max_length=16)
    event = models.CharField(_("event"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64)
    remote_ip = models.GenericIPAddressField(_("sender IP"), null=True, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    applied = models.BooleanField(_("applied"), default=False)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event", "object_id"],
                condition=models.Q(applied=True),
                name="webhook_event_applied_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.object_id}"
