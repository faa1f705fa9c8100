"""Admin for stock, the change log, recipes and presets."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from inventory.models import Inventory, InventoryChange, Recipe, RecipeItem, RecipePreset


@admin.register(Inventory)
class InventoryAdmin(admin.ModelAdmin):
    list_display = [
        "item_name",
        "location",
        "terminal",
        "owner",
        "current_stock",
        "max_stock",
        "critical_stock",
        "updated_at",
    ]
    list_filter = ["location", "owner"]
    search_fields = ["item_name", "terminal__name"]
    list_select_related = ["owner", "terminal"]
    # Stock changes go through the API's operations, which write the change log.
    readonly_fields = ["current_stock", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fixed = ["owner", "terminal", "location", "item_name"] if obj is not None else []
        return [*fixed, *self.readonly_fields]


@admin.register(InventoryChange)
class InventoryChangeAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "owner",
        "location",
        "terminal",
        "item_name",
        "source",
        "quantity_before",
        "quantity_after",
        "changed_by",
        "is_notified",
    ]
    list_filter = ["source", "location", "is_notified", "owner"]
    search_fields = ["item_name", "terminal__name"]
    date_hierarchy = "created_at"
    list_select_related = ["owner", "terminal", "changed_by"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in InventoryChange._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class RecipeItemInline(admin.TabularInline):
    model = RecipeItem
    extra = 1


@admin.register(Recipe)
class RecipeAdmin(admin.ModelAdmin):
    list_display = ["name", "terminal", "machine_item_id", "is_hidden", "updated_at"]
    list_filter = ["is_hidden", "terminal__owner"]
    search_fields = ["name", "terminal__name"]
    inlines = [RecipeItemInline]
    list_select_related = ["terminal"]
    autocomplete_fields = ["terminal"]


@admin.register(RecipePreset)
class RecipePresetAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "created_at"]
    list_filter = ["owner"]
    search_fields = ["name"]
