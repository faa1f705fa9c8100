"""Models of the notifications app."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """A message a DEV channel "sent": kept here instead of leaving the machine."""

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    channel = models.CharField(_("channel"), max_length=16)
    recipient = models.CharField(_("recipient"), max_length=254)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    text = models.TextField(_("text"))
    attachments = models.JSONField(_("attachments"), default=list, blank=True)

    class Meta:
        verbose_name = _("outbox message (DEV)")
        verbose_name_plural = _("outbox (DEV)")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel} → {self.recipient}: {self.subject or self.text[:40]}"


class TelegramChat(models.Model):
    """A Telegram chat bound to a person through the bot's `/start <code>`.

    The chat id only ever comes from Telegram (an update), never from a request body.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="telegram_chats",
        verbose_name=_("user"),
    )
    chat_id = models.BigIntegerField(_("chat id"), unique=True)
    is_group = models.BooleanField(_("group chat"), default=False)
    username = models.CharField(_("Telegram username"), max_length=100, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.CharField(_("disabled because"), max_length=255, blank=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    linked_at = models.DateTimeField(_("linked at"), auto_now_add=True)

    class Meta:
        verbose_name = _("Telegram chat")
        verbose_name_plural = _("Telegram chats")
        ordering = ["user_id", "id"]

    def __str__(self) -> str:
        return f"{self.chat_id} ({self.user})"


class TelegramLinkCode(models.Model):
    """A one-time code the person sends to the bot as `/start <code>` to bind their chat."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="telegram_link_codes",
        verbose_name=_("user"),
    )
    code = models.CharField(_("code"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    used_chat_id = models.BigIntegerField(_("linked chat id"), null=True, blank=True)

    class Meta:
        verbose_name = _("Telegram link code")
        verbose_name_plural = _("Telegram link codes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user}: {self.code}"

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and self.expires_at > now


class NotificationSettings(models.Model):
    """Per-owner notification preferences."""

    owner = models.OneToOneField(
        "tenancy.Owner",
        on_delete=models.CASCADE,
        related_name="notification_settings",
        verbose_name=_("owner"),
    )
    digest_include_sales = models.BooleanField(
        _("include sales consumption in the hourly digest"), default=False
    )

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return str(self.owner)


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed, will retry")
    PERMANENTLY_FAILED = "permanently_failed", _("Failed permanently")


FINAL_STATUSES = [DeliveryStatus.SENT, DeliveryStatus.PERMANENTLY_FAILED]


class Digest(models.Model):
    """One owner's digest: the composer's rows it covers (`kind`, `item_ids`) and its rendered
    parts, sent to several chats (see `notifications.digests`).

    The composer's completion handler runs in the transaction that sets `completed_at`, which
    happens only once every delivery of the digest reached a final state; a crash before that
    re-sends.
    """

    owner = models.ForeignKey(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    kind = models.CharField(_("kind"), max_length=50)
    item_ids = models.JSONField(_("covered row ids"), default=list)
    chunks = models.JSONField(_("message parts"), default=list)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("digest")
        verbose_name_plural = _("digests")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="digest_open",
                condition=models.Q(completed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.owner} @ {self.created_at:%Y-%m-%d %H:%M}"


class Delivery(models.Model):
    """One message to one recipient over one channel (Telegram, e-mail, SMS): written in the
    transaction that causes it, claimed (a lease) before sending, then its outcome.

    A long text becomes several rows of one `group_key` (chunk 0, 1, ...), sent in order.
    """

    owner = models.ForeignKey(
        "tenancy.Owner",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recipient user"),
    )
    chat = models.ForeignKey(
        TelegramChat,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("Telegram chat"),
    )
    channel = models.CharField(_("channel"), max_length=16, default="telegram")
    recipient = models.CharField(_("recipient"), max_length=254)
    is_group = models.BooleanField(_("group chat"), default=False)
    template = models.CharField(_("template"), max_length=100)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    text = models.TextField(_("text"))
    # Stored files sent with the message: [{"filename", "storage_name", "mimetype"}].
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    # The work this message belongs to ("report:<id>"): its app's handler hears the outcome.
    source = models.CharField(_("source"), max_length=100, blank=True, db_index=True)
    # Telegram's inline keyboard for this part (buttons, a web-app button), or none.
    reply_markup = models.JSONField(_("buttons"), null=True, blank=True)
    group_key = models.CharField(_("message group"), max_length=64, db_index=True)
    chunk_index = models.PositiveIntegerField(_("part"), default=0)
    chunk_count = models.PositiveIntegerField(_("parts"), default=1)
    digest = models.ForeignKey(
        Digest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("digest"),
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.QUEUED,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    provider_id = models.CharField(_("provider id"), max_length=100, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    dedup_key = models.CharField(
        _("de-duplication key"), max_length=200, null=True, blank=True, unique=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    enqueued_at = models.DateTimeField(_("enqueued at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values), name="delivery_status_valid"
            ),
            models.UniqueConstraint(
                fields=["group_key", "chunk_index"], name="delivery_group_chunk_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="delivery_pending",
                condition=models.Q(status__in=["queued", "sending", "failed"]),
            ),
            models.Index(fields=["created_at"], name="delivery_created"),
        ]

    def __str__(self) -> str:
        return f"{self.template} → {self.recipient} ({self.status})"


class AdminAlert(models.Model):
    """One failure of background work for the operators, waiting to be grouped into a message.

    Written in the transaction that records the failure, so an outage never loses it; the sweep
    groups the waiting rows into admin messages (`notifications.alerts`).
    """

    owner = models.ForeignKey(
        "tenancy.Owner",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    context = models.CharField(_("what failed"), max_length=200)
    error = models.TextField(_("error"))
    fingerprint = models.CharField(_("fingerprint"), max_length=32, db_index=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    flushed_at = models.DateTimeField(_("grouped at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("admin alert")
        verbose_name_plural = _("admin alerts")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="admin_alert_waiting",
                condition=models.Q(flushed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.context} @ {self.created_at:%Y-%m-%d %H:%M}"
