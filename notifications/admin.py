"""Admin registrations of the notifications app."""

from __future__ import annotations

from django.contrib import admin

from notifications.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "recipient", "subject"]
    list_filter = ["channel"]
    search_fields = ["recipient", "subject", "text"]
    readonly_fields = ["created_at", "channel", "recipient", "subject", "text", "attachments"]
