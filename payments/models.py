"""Payment intents (amounts in kopecks) and the PSP notifications we received."""

from __future__ import annotations

import uuid

from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from kiosk.models import SessionType
from payments.status_cache import STATUS_CACHE


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


class CaptureStatus(models.TextChoices):
    """The money of a succeeded intent: held by the PSP until the service is delivered, then
    captured; released (hold cancelled, or refunded) when the service never came."""

    NONE = "", _("None")
    HELD = "held", _("Held")
    CAPTURED = "captured", _("Captured")
    RELEASED = "released", _("Released")


class ReceiptStatus(models.TextChoices):
    """YooKassa's `receipt_registration` of the payment's fiscal receipt (54-FZ)."""

    NONE = "", _("None")
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    CANCELED = "canceled", _("Canceled")


# At most one intent per session may be payable (pending) or paid (succeeded).
PAYABLE_STATUSES = (PaymentStatus.PENDING, PaymentStatus.SUCCEEDED)


class PaymentIntentQuerySet(models.QuerySet["PaymentIntent"]):
    def update(self, **kwargs: object) -> int:
        # This process reads its own bulk writes back at once (other processes hear of them
        # from the database's notice: payments/status_cache.py).
        transaction.on_commit(STATUS_CACHE.forget)
        return super().update(**kwargs)


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
    capture_status = models.CharField(
        _("capture status"), max_length=16, choices=CaptureStatus.choices, blank=True, default=""
    )
    # Set when the service was delivered (its report generated): from then on the money is
    # captured, never released; the poller retries a capture the PSP did not confirm.
    capture_requested_at = models.DateTimeField(_("capture requested at"), null=True, blank=True)
    captured_at = models.DateTimeField(_("captured at"), null=True, blank=True)
    receipt = models.JSONField(_("fiscal receipt sent"), default=dict, blank=True)
    receipt_registration = models.CharField(
        _("receipt registration"),
        max_length=16,
        choices=ReceiptStatus.choices,
        blank=True,
        default="",
    )

    objects = PaymentIntentQuerySet.as_manager()

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
            # One charge per service: a second payable intent for a session cannot exist.
            models.UniqueConstraint(
                fields=["session"],
                condition=models.Q(status__in=PAYABLE_STATUSES),
                name="payment_one_payable_per_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount / 100:.2f} {self.currency} {self.status} ({self.id})"

    def save(self, *args: object, **kwargs: object) -> None:
        super().save(*args, **kwargs)  # type: ignore[arg-type]
        key = str(self.pk)
        transaction.on_commit(lambda: STATUS_CACHE.forget(key))

    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def refund_idempotency_key(self) -> str:
        return f"vk-refund-{self.id}"

    @property
    def cancel_idempotency_key(self) -> str:
        return f"vk-cancel-{self.id}"

    @property
    def capture_idempotency_key(self) -> str:
        return f"vk-capture-{self.id}"

    @property
    def release_idempotency_key(self) -> str:
        return f"vk-release-{self.id}"


class WebhookEvent(models.Model):
    """One notification as received from the PSP. The body is never trusted: it only names the
    payment to re-read. An event is applied at most once (`applied` + the unique constraint)."""

    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    provider = models.CharField(_("provider"), max_length=16)
    event = models.CharField(_("event"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64)
    # The object's status as the notification claims it: YooKassa re-sends one notification
    # for 24 h; (event, object, status) identifies it.
    object_status = models.CharField(_("object status"), max_length=32, blank=True)
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
                fields=["provider", "event", "object_id", "object_status"],
                condition=models.Q(applied=True),
                name="webhook_event_applied_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.object_id}"


class TaxSystem(models.IntegerChoices):
    """YooKassa `tax_system_code` (54-FZ)."""

    OSN = 1, _("General (OSN)")
    USN_INCOME = 2, _("Simplified, income (USN)")
    USN_INCOME_OUTCOME = 3, _("Simplified, income minus expenses")
    ESN = 5, _("Unified agricultural tax")
    PATENT = 6, _("Patent")


class VatCode(models.IntegerChoices):
    """YooKassa `vat_code` of a receipt item."""

    NO_VAT = 1, _("No VAT")
    VAT_0 = 2, _("VAT 0%")
    VAT_10 = 3, _("VAT 10%")
    VAT_20 = 4, _("VAT 20%")
    VAT_10_110 = 5, _("VAT 10/110")
    VAT_20_120 = 6, _("VAT 20/120")


class FiscalSettings(models.Model):
    """An owner's tax settings for the 54-FZ receipts its kiosks' payments carry."""

    owner = models.OneToOneField(
        "tenancy.Owner",
        on_delete=models.CASCADE,
        related_name="fiscal_settings",
        verbose_name=_("owner"),
    )
    tax_system_code = models.PositiveSmallIntegerField(
        _("tax system"), choices=TaxSystem.choices, default=TaxSystem.USN_INCOME
    )
    vat_code = models.PositiveSmallIntegerField(
        _("VAT rate of services"), choices=VatCode.choices, default=VatCode.NO_VAT
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("fiscal settings")
        verbose_name_plural = _("fiscal settings")

    def __str__(self) -> str:
        return str(self.owner)


class ServicePrice(models.Model):
    """The price list: what a service costs at one kiosk, or at every kiosk of the owner (no
    kiosk). Without a row, the kiosk's own default price applies."""

    owner = models.ForeignKey(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="prices", verbose_name=_("owner")
    )
    kiosk = models.ForeignKey(
        "kiosk.Kiosk",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="prices",
        verbose_name=_("kiosk (empty: every kiosk of the owner)"),
    )
    service_type = models.CharField(_("service"), max_length=16, choices=SessionType.choices)
    amount = models.PositiveIntegerField(_("price, kopecks"))
    description = models.CharField(_("receipt item name"), max_length=128, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("service price")
        verbose_name_plural = _("price list")
        ordering = ["owner_id", "kiosk_id", "service_type"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="price_amount_pos"),
            models.UniqueConstraint(
                fields=["owner", "kiosk", "service_type"],
                condition=models.Q(kiosk__isnull=False),
                name="price_one_per_kiosk_service",
            ),
            models.UniqueConstraint(
                fields=["owner", "service_type"],
                condition=models.Q(kiosk__isnull=True),
                name="price_one_per_owner_service",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_type}: {self.amount / 100:.2f}"
