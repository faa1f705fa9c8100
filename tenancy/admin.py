"""Owners and memberships (members see their own owner, read-only), the audit log, and
failed-login records (platform staff; lifting a lockout is audited)."""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEntry
from tenancy.cabinet.labels import label
from tenancy.cabinet.options import CabinetModelAdmin, CabinetTabularInline
from tenancy.lockout import reset_lockout
from tenancy.models import Membership, Owner


class MembershipInline(CabinetTabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Owner)
class OwnerAdmin(CabinetModelAdmin):
    owner_field = "pk"
    list_display = ["id", "name", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(CabinetModelAdmin):
    owner_field = "owner"
    list_display = ["id", "owner", "user", "role", "display_name", "created_at"]
    list_filter = ["role", "owner"]
    search_fields = ["user__username", "user__email", "owner__name", "display_name"]
    autocomplete_fields = ["owner", "user"]
    list_select_related = ["owner", "user"]


@admin.register(AccessAttempt)
class AccessAttemptAdmin(CabinetModelAdmin):
    """Failed logins that count towards a lockout (per user name and per address)."""

    list_display = ["attempt_time", "username", "ip_address", "path_info", "failures_since_start"]
    search_fields = ["username", "ip_address"]
    readonly_fields = [f.name for f in AccessAttempt._meta.fields]
    actions = ["lift_lockout"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Lift the lockout (audited)"))
    def lift_lockout(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        lifted = reset_lockout(queryset, user=request.user, request=request)
        self.message_user(
            request, _("Lockouts lifted: %(count)d") % {"count": lifted}, messages.SUCCESS
        )


@admin.register(AccessFailureLog)
class AccessFailureLogAdmin(CabinetModelAdmin):
    list_display = ["attempt_time", "username", "ip_address", "path_info", "locked_out"]
    search_fields = ["username", "ip_address"]
    readonly_fields = [f.name for f in AccessFailureLog._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AccessLog)
class AccessLogAdmin(CabinetModelAdmin):
    list_display = ["attempt_time", "logout_time", "username", "ip_address", "path_info"]
    search_fields = ["username", "ip_address"]
    readonly_fields = [f.name for f in AccessLog._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(CabinetModelAdmin):
    """The audit log, read-only; members see their own owner's entries (owners and admins)."""

    owner_field = "owner"
    list_display = [
        "created_at",
        "actor_kind",
        "actor_label",
        "action_words",
        "object_type",
        "object_id",
    ]
    list_filter = ["actor_kind", "action", "owner"]
    search_fields = ["action", "actor_label", "object_id"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("action"), ordering="action")
    def action_words(self, obj: AuditEntry) -> str:
        return label(obj.action)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
