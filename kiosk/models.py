"""Kiosk devices (each with its own API token) and client sessions on them."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.redis import get_redis

TOKEN_PREFIX_LENGTH = 8


# token hash -> (monotonic deadline, kiosk): the kiosks this process authenticated in the last
# KIOSK_AUTH_LOCAL_CACHE_S seconds (kiosk.auth), so a kiosk polling every second costs no Redis
# round trip. A save drops its kiosk here and in Redis.
LOCAL_TOKEN_CACHE: dict[str, tuple[float, Any]] = {}


def token_cache_key(token_hash: str) -> str:
    """Where kiosk authentication caches the kiosk of a token (see kiosk/auth.py)."""
    return f"vk:kiosk-token:{token_hash}"


def hash_token(raw: str) -> str:
    """The stored form of a kiosk token (tokens are random 256-bit strings: no salt needed)."""
    return hashlib.sha256(raw.encode()).hexdigest()


class Kiosk(models.Model):
    """A self-service terminal of one owner. Authenticates with `Authorization: Kiosk <token>`."""

    owner = models.ForeignKey(
        "tenancy.Owner", on_delete=models.CASCADE, related_name="kiosks", verbose_name=_("owner")
    )
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    # Branding printed on the PDF reports.
    brand_name = models.CharField(_("brand name"), max_length=200, blank=True)
    brand_address = models.CharField(_("address"), max_length=300, blank=True)
    brand_support = models.CharField(_("support contact"), max_length=200, blank=True)
    brand_color = models.CharField(_("brand colour"), max_length=7, default="#1f4e79")
    price_diagnostics = models.PositiveIntegerField(_("diagnostics price, kopecks"), default=48000)
    price_thickness = models.PositiveIntegerField(
        _("thickness check price, kopecks"), default=30000
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(
        _("token prefix"), max_length=TOKEN_PREFIX_LENGTH, blank=True, editable=False
    )
    token_rotated_at = models.DateTimeField(_("token rotated at"), null=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("kiosk")
        verbose_name_plural = _("kiosks")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        # The authentication cache forgets this kiosk (a rotated token, a deactivation) at once.
        stale = [self.token_hash, *getattr(self, "_replaced_token_hashes", [])]
        for token_hash in stale:
            LOCAL_TOKEN_CACHE.pop(token_hash, None)
        keys = [token_cache_key(token_hash) for token_hash in stale if token_hash]
        if keys:  # a kiosk saved before it has a token has nothing cached
            get_redis().delete(*keys)
        self._replaced_token_hashes: list[str] = []

    def set_token(self, raw: str | None = None) -> str:
        """Replace the token (not saved); returns the raw token, which is never stored."""
        raw = raw or secrets.token_urlsafe(32)
        if self.token_hash:
            self._replaced_token_hashes = [
                *getattr(self, "_replaced_token_hashes", []),
                self.token_hash,
            ]
        self.token_hash = hash_token(raw)
        self.token_prefix = raw[:TOKEN_PREFIX_LENGTH]
        return raw

    def price_for(self, session_type: str) -> int:
        return (
            self.price_thickness
            if session_type == SessionType.THICKNESS
            else (self.price_diagnostics)
        )

    @property
    def display_brand(self) -> str:
        return self.brand_name or self.owner.name


class SessionType(models.TextChoices):
    DIAGNOSTICS = "diagnostics", _("OBD-II diagnostics")
    THICKNESS = "thickness", _("Paint thickness check")


class SessionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    EXPIRED = "expired", _("Expired")


class Session(models.Model):
    """One client's visit to a kiosk. `completed` and `expired` are final."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kiosk = models.ForeignKey(
        Kiosk, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("kiosk")
    )
    type = models.CharField(_("type"), max_length=16, choices=SessionType.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=SessionStatus.choices, default=SessionStatus.ACTIVE
    )
    contact_email = models.EmailField(_("e-mail"), blank=True)
    contact_phone = models.CharField(_("phone (E.164)"), max_length=16, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    ttl_ms = models.PositiveIntegerField(_("TTL, ms"))
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    expired_at = models.DateTimeField(_("expired at"), null=True, blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="session_status_expiry_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(type__in=SessionType.values), name="session_type_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=SessionStatus.values), name="session_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.id}"

    def is_terminal(self) -> bool:
        return self.status != SessionStatus.ACTIVE

    def is_expired(self, now: datetime) -> bool:
        return self.status == SessionStatus.EXPIRED or (
            self.status == SessionStatus.ACTIVE and self.expires_at <= now
        )
