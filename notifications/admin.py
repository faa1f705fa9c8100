"""Admin registrations of the notifications app."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from notifications import services
from notifications.bot import issue_link_code
from notifications.models import (
    AdminAlert,
    Delivery,
    Digest,
    NotificationSettings,
    OutboxMessage,
    TelegramChat,
    TelegramLinkCode,
)
from tenancy.cabinet.options import CabinetModelAdmin
from tenancy.cabinet.scope import STAFF_ROLES


@admin.register(OutboxMessage)
class OutboxMessageAdmin(CabinetModelAdmin):
    list_display = ["created_at", "channel", "recipient", "subject"]
    list_filter = ["channel"]
    search_fields = ["recipient", "subject", "text"]
    readonly_fields = ["created_at", "channel", "recipient", "subject", "text", "attachments"]


@admin.register(TelegramChat)
class TelegramChatAdmin(CabinetModelAdmin):
    list_display = ["chat_id", "user", "username", "is_group", "enabled", "disabled_reason"]
    list_filter = ["enabled", "is_group"]
    search_fields = ["user__username", "username", "chat_id"]
    # The chat id comes from Telegram only (via /start <code>), never typed in.
    readonly_fields = ["chat_id", "user", "is_group", "username", "linked_at", "disabled_at"]
    actions = ["enable_chats"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Enable the selected chats again"))
    def enable_chats(self, request: HttpRequest, queryset: QuerySet[TelegramChat]) -> None:
        count = queryset.update(enabled=True, disabled_reason="", disabled_at=None)
        self.message_user(request, _("Chats enabled: %(count)d") % {"count": count})


@admin.register(TelegramLinkCode)
class TelegramLinkCodeAdmin(CabinetModelAdmin):
    """Staff create a code for a person here and pass it on: they send `/start <code>`."""

    list_display = ["user", "code", "created_at", "expires_at", "used_at", "used_chat_id"]
    search_fields = ["user__username", "code"]
    fields = ["user", "code", "expires_at", "used_at", "used_chat_id"]
    readonly_fields = ["code", "expires_at", "used_at", "used_chat_id"]

    def save_model(self, request: HttpRequest, obj: TelegramLinkCode, form: object, change: bool):  # type: ignore[no-untyped-def]
        if change:
            return
        issued = issue_link_code(obj.user)
        obj.pk, obj.code, obj.expires_at = issued.pk, issued.code, issued.expires_at
        self.message_user(
            request, _("Send this to the bot: /start %(code)s") % {"code": issued.code}
        )


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(CabinetModelAdmin):
    owner_field = "owner"
    write_roles = STAFF_ROLES
    add_roles = ()
    list_display = ["owner", "digest_include_sales"]


@admin.register(Delivery)
class DeliveryAdmin(CabinetModelAdmin):
    list_display = [
        "created_at",
        "template",
        "recipient",
        "user",
        "status",
        "attempts",
        "chunk_index",
        "sent_at",
    ]
    list_filter = ["status", "channel", "template"]
    search_fields = ["recipient", "user__username", "text", "last_error"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["resend_failed"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Send the selected deliveries again (failed, waiting or stuck)"))
    def resend_failed(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = services.resend(queryset.values_list("pk", flat=True))
        self.message_user(
            request, _("Deliveries queued again: %(count)d") % {"count": count}, messages.SUCCESS
        )


@admin.register(Digest)
class DigestAdmin(CabinetModelAdmin):
    list_display = ["created_at", "owner", "completed_at"]
    readonly_fields = ["owner", "kind", "item_ids", "chunks", "created_at", "completed_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AdminAlert)
class AdminAlertAdmin(CabinetModelAdmin):
    """Failures of background work waiting for (or grouped into) the operators' message;
    platform staff only (no `owner_field`)."""

    list_display = ["created_at", "context", "owner", "flushed_at", "outcome"]
    list_filter = ["outcome", "context"]
    search_fields = ["context", "error"]
    list_select_related = ["owner"]
    readonly_fields = [field.name for field in AdminAlert._meta.fields]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
