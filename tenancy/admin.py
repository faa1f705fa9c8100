from __future__ import annotations

from django.contrib import admin

from tenancy.models import Membership, Owner


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Owner)
class OwnerAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "user", "role", "display_name", "created_at"]
    list_filter = ["role", "owner"]
    search_fields = ["user__username", "user__email", "owner__name", "display_name"]
    autocomplete_fields = ["owner", "user"]
    list_select_related = ["owner", "user"]
