"""The audit log in the admin: read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEntry
from tenancy.cabinet.options import CabinetModelAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(CabinetModelAdmin):
    owner_field = "owner"
    list_display = ["created_at", "actor_kind", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["actor_kind", "action", "owner"]
    search_fields = ["action", "actor_label", "object_id"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
