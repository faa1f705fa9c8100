"""Admin: kiosks (token created and rotated here, shown once) and their sessions."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.services import record
from kiosk.models import Kiosk, Session
from tenancy.cabinet.options import CabinetModelAdmin


def _rotate(request: HttpRequest, kiosk: Kiosk, action: str) -> None:
    raw = kiosk.set_token()
    kiosk.token_rotated_at = timezone.now()
    with transaction.atomic():
        kiosk.save()
        record(
            action,
            actor_user=request.user,
            owner_id=kiosk.owner_id,
            obj=kiosk,
            summary={"token_prefix": kiosk.token_prefix},
            request=request,
        )
    # Shown once: only its hash is stored.
    messages.warning(
        request,
        _("New token of kiosk «%(name)s» (copy it now, it is not shown again): %(token)s")
        % {"name": kiosk.name, "token": raw},
    )


@admin.register(Kiosk)
class KioskAdmin(CabinetModelAdmin):
    owner_field = "owner"
    list_display = ["id", "name", "owner", "is_active", "token_prefix", "token_rotated_at"]
    list_filter = ["is_active", "owner"]
    search_fields = ["name", "brand_name", "owner__name"]
    readonly_fields = ["token_prefix", "token_rotated_at", "created_at"]
    autocomplete_fields = ["owner"]
    actions = ["rotate_token"]

    def save_model(self, request: HttpRequest, obj: Kiosk, form: Any, change: bool) -> None:
        if not change:
            _rotate(request, obj, "kiosk.created")
            return
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Rotate the API token (the new one is shown once)"))
    def rotate_token(self, request: HttpRequest, queryset: QuerySet[Kiosk]) -> None:
        for kiosk in queryset:
            _rotate(request, kiosk, "kiosk.token_rotated")


@admin.register(Session)
class SessionAdmin(CabinetModelAdmin):
    owner_field = "kiosk__owner"
    list_display = ["id", "kiosk", "type", "status", "created_at", "expires_at"]
    list_filter = ["status", "type", "kiosk"]
    list_select_related = ["kiosk"]
    readonly_fields = [field.name for field in Session._meta.fields]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
