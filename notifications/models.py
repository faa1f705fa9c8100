"""Models of the notifications app."""

from __future__ import annotations

from django.db import models
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
