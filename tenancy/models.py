"""Tenants (owners: the businesses) and people's membership in them, with a role."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Owner(models.Model):
    """A business that runs self-service points; every tenant-owned row points at one."""

    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("owner")
        verbose_name_plural = _("owners")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Administrator")
    SERVICE = "service", _("Service staff")


class Membership(models.Model):
    """One person's access to one owner's data, with a role."""

    owner = models.ForeignKey(
        Owner, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("owner")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["owner_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "user"], name="membership_owner_user_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.owner} ({self.role})"
