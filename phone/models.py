"""The bot's own rows: owners' alert settings and alerts, invitations, expense drafts."""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AlertSettings(models.Model):
    """When an owner hears about trouble in the bot; an owner without a row gets the defaults."""

    owner = models.OneToOneField(
        "tenancy.Owner",
        on_delete=models.CASCADE,
        related_name="alert_settings",
        verbose_name=_("owner"),
    )
    enabled = models.BooleanField(_("alerts on"), default=True)
    offline_after_minutes = models.PositiveIntegerField(
        _("terminal offline alert after, minutes"), default=60
    )
    no_sales_hours = models.PositiveIntegerField(
        _("no sales alert after, hours (0: off)"), default=3
    )
    business_hours_start = models.TimeField(_("business hours from"), default=time(8, 0))
    business_hours_end = models.TimeField(_("business hours until"), default=time(22, 0))
    failed_imports_in_a_row = models.PositiveIntegerField(
        _("alert after this many failed imports in a row"), default=3
    )

    class Meta:
        verbose_name = _("alert settings")
        verbose_name_plural = _("alert settings")

    def __str__(self) -> str:
        return str(self.owner)

    def in_business_hours(self, moment: time) -> bool:
        """Whether a Moscow wall-clock time lies in the business hours (they may wrap midnight)."""
        start, end = self.business_hours_start, self.business_hours_end
        if start == end:
            return True
        if start < end:
            return start <= moment < end
        return moment >= start or moment < end


class AlertKind(models.TextChoices):
    TERMINAL_OFFLINE = "terminal_offline", _("Terminal offline")
    NO_SALES = "no_sales", _("No sales")
    PAYMENT_REQUIRED = "payment_required", _("Vendista suspended (payment required)")
    CREDENTIALS_REFUSED = "credentials_refused", _("Vendista credentials refused")
    IMPORT_FAILING = "import_failing", _("Import failing")


class OwnerAlert(models.Model):
    """One open (or cleared) problem of an owner: told once while it lasts, then "resolved"."""

    owner = models.ForeignKey(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    kind = models.CharField(_("kind"), max_length=32, choices=AlertKind.choices)
    # What the alert is about within its kind: "terminal:<id>", or "" for owner-wide ones.
    subject = models.CharField(_("subject"), max_length=100, blank=True)
    urgent = models.BooleanField(_("urgent"), default=False)
    text = models.TextField(_("what happened"), blank=True)
    opened_at = models.DateTimeField(_("noticed at"), auto_now_add=True)
    notified_at = models.DateTimeField(_("told at"), null=True, blank=True)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    resolved_notified_at = models.DateTimeField(_("resolution told at"), null=True, blank=True)

    class Meta:
        verbose_name = _("owner alert")
        verbose_name_plural = _("owner alerts")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "kind", "subject"],
                name="owner_alert_one_open",
                condition=models.Q(cleared_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject} ({self.owner})"


class InviteStatus(models.TextChoices):
    OPEN = "open", _("Link not used yet")
    WAITING = "waiting", _("Waiting for the owner's confirmation")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class BotInvite(models.Model):
    """A one-time link that lets a new person join an owner with a role once it is confirmed."""

    owner = models.ForeignKey(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    role = models.CharField(_("role"), max_length=16)
    token = models.CharField(_("token"), max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    status = models.CharField(
        _("status"), max_length=16, choices=InviteStatus.choices, default=InviteStatus.OPEN
    )
    invitee_chat_id = models.BigIntegerField(_("invitee's chat"), null=True, blank=True)
    invitee_name = models.CharField(_("invitee's name"), max_length=200, blank=True)
    invitee_username = models.CharField(
        _("invitee's Telegram username"), max_length=100, blank=True
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("bot invitation")
        verbose_name_plural = _("bot invitations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.owner}: {self.role} ({self.status})"


class ExpenseDraft(models.Model):
    """An expense typed into the bot that looks like one entered a minute ago: kept until the
    person says whether to record it again."""

    owner = models.ForeignKey(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    comment = models.CharField(_("comment"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("expense draft")
        verbose_name_plural = _("expense drafts")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.amount} {self.comment}"


class ChatOwnerChoice(models.Model):
    """Which owner the bot acts for in a chat whose person belongs to several."""

    chat_id = models.BigIntegerField(_("chat id"), unique=True)
    owner = models.ForeignKey(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("owner chosen in the bot")
        verbose_name_plural = _("owners chosen in the bot")

    def __str__(self) -> str:
        return f"{self.chat_id} → {self.owner}"
