"""Admin: payment intents and webhook events (read-only: money moves only through services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from payments.models import FiscalSettings, PaymentIntent, ServicePrice, WebhookEvent
from tenancy.cabinet import scope
from tenancy.cabinet.labels import label
from tenancy.cabinet.options import CabinetModelAdmin


@admin.register(PaymentIntent)
class PaymentIntentAdmin(CabinetModelAdmin):
    owner_field = "session__kiosk__owner"
    list_display = [
        "id",
        "session",
        "amount",
        "currency",
        "provider",
        "status",
        "refund_status",
        "capture_status",
        "receipt_registration",
        "created_at",
    ]
    list_filter = ["status", "provider", "refund_status", "capture_status", "receipt_registration"]
    search_fields = ["id", "provider_payment_id"]
    readonly_fields = [field.name for field in PaymentIntent._meta.fields]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(CabinetModelAdmin):
    @admin.display(description=_("event"), ordering="event")
    def event_words(self, obj: WebhookEvent) -> str:
        return label(obj.event)

    list_display = [
        "id",
        "received_at",
        "event_words",
        "object_id",
        "remote_ip",
        "applied",
        "outcome",
    ]
    list_filter = ["event", "applied", "outcome"]
    search_fields = ["object_id"]
    readonly_fields = [field.name for field in WebhookEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ServicePrice)
class ServicePriceAdmin(CabinetModelAdmin):
    """The price list: a kiosk's price of a service, or the owner's for all its kiosks."""

    owner_field = "owner"
    view_roles = scope.STAFF_ROLES
    write_roles = scope.STAFF_ROLES
    delete_roles = scope.STAFF_ROLES

    list_display = ["owner", "kiosk", "service_type", "amount", "description", "updated_at"]
    list_filter = ["service_type", "owner"]
    list_select_related = ["owner", "kiosk"]
    autocomplete_fields = ["owner"]


@admin.register(FiscalSettings)
class FiscalSettingsAdmin(CabinetModelAdmin):
    """The owner's tax system and VAT rate printed on its 54-FZ receipts."""

    owner_field = "owner"
    view_roles = scope.OWNER_ONLY
    write_roles = scope.OWNER_ONLY

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        # One row per owner: a member adds it once, then edits it.
        membership = scope.current_membership(request)
        if (
            membership is not None
            and not scope.is_platform_staff(request)
            and FiscalSettings.objects.filter(owner_id=membership.owner_id).exists()
        ):
            return False
        return super().has_add_permission(request, *args)

    list_display = ["owner", "tax_system_code", "vat_code", "updated_at"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
