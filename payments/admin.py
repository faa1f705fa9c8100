"""Admin: payment intents and webhook events (read-only: money moves only through services)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from payments.models import PaymentIntent, WebhookEvent
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
        "created_at",
    ]
    list_filter = ["status", "provider", "refund_status"]
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
