"""Stock, the change log, recipes and presets in the cabinet. Stock moves only through the
logged operations (`tasks_app.services.move_stock`, `inventory.services.adjust_warehouse`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from inventory.admin import operations
from inventory.admin.display import fill_bar, quantity
from inventory.models import Inventory, InventoryChange, Recipe, RecipeItem, RecipePreset
from inventory.services import save_recipe
from tenancy.cabinet import scope
from tenancy.cabinet.options import CabinetModelAdmin, CabinetTabularInline


class BelowCriticalFilter(admin.SimpleListFilter):
    title = _("fill level")
    parameter_name = "level"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("critical", _("At or below critical")), ("fine", _("Above critical"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        critical = Q(critical_stock__isnull=False, current_stock__lte=F("critical_stock"))
        if self.value() == "critical":
            return queryset.filter(critical)
        if self.value() == "fine":
            return queryset.exclude(critical)
        return queryset


@admin.register(Inventory)
class InventoryAdmin(operations.StockOperationsMixin, CabinetModelAdmin):
    owner_field = "owner"
    view_roles = scope.EVERY_ROLE
    write_roles = scope.STAFF_ROLES  # capacity and critical level
    add_roles = ()
    list_display = [
        "item_name",
        "location",
        "terminal",
        "stock",
        "fill",
        "capacity",
        "critical",
        "updated_at",
    ]
    list_filter = [BelowCriticalFilter, "location", "terminal", "owner"]
    search_fields = ["item_name", "terminal__name"]
    list_select_related = ["owner", "terminal"]
    readonly_fields = ["current_stock", "updated_at"]
    change_list_template = "cabinet/inventory_change_list.html"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fixed = ["owner", "terminal", "location", "item_name"] if obj is not None else []
        return [*fixed, *self.readonly_fields]

    @admin.display(description=_("stock"), ordering="current_stock")
    def stock(self, obj: Inventory) -> str:
        return quantity(obj.current_stock, obj.item_name)

    @admin.display(description=_("capacity"), ordering="max_stock")
    def capacity(self, obj: Inventory) -> str:
        return quantity(obj.max_stock, obj.item_name)

    @admin.display(description=_("critical level"), ordering="critical_stock")
    def critical(self, obj: Inventory) -> str:
        return quantity(obj.critical_stock, obj.item_name)

    @admin.display(description=_("fill"))
    def fill(self, obj: Inventory) -> Any:
        return fill_bar(obj)


def _delta(row: InventoryChange) -> str:
    sign = "+" if row.delta > 0 else ""
    return sign + quantity(row.delta, row.item_name)


@admin.register(InventoryChange)
class InventoryChangeAdmin(CabinetModelAdmin):
    owner_field = "owner"
    view_roles = scope.STAFF_ROLES
    list_display = [
        "created_at",
        "location",
        "terminal",
        "item_name",
        "source",
        "before",
        "after",
        "change",
        "changed_by",
    ]
    list_filter = ["source", "location", "terminal", "is_notified", "owner"]
    search_fields = ["item_name", "terminal__name"]
    date_hierarchy = "created_at"
    list_select_related = ["owner", "terminal", "changed_by"]
    export_columns = [
        (_("time"), "created_at"),
        (_("location"), "location"),
        (_("terminal"), "terminal"),
        (_("ingredient"), "item_name"),
        (_("source"), "source"),
        (_("before"), "quantity_before"),
        (_("after"), "quantity_after"),
        (_("change"), lambda row: row.delta),
        (_("changed by"), "changed_by"),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in InventoryChange._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("before"), ordering="quantity_before")
    def before(self, obj: InventoryChange) -> str:
        return quantity(obj.quantity_before, obj.item_name)

    @admin.display(description=_("after"), ordering="quantity_after")
    def after(self, obj: InventoryChange) -> str:
        return quantity(obj.quantity_after, obj.item_name)

    @admin.display(description=_("change"))
    def change(self, obj: InventoryChange) -> str:
        return _delta(obj)


class RecipeItemInline(CabinetTabularInline):
    model = RecipeItem
    extra = 1
    view_roles = scope.EVERY_ROLE
    write_roles = scope.STAFF_ROLES


@admin.register(Recipe)
class RecipeAdmin(operations.ApplyPresetMixin, CabinetModelAdmin):
    owner_field = "terminal__owner"
    view_roles = scope.EVERY_ROLE
    write_roles = scope.STAFF_ROLES
    delete_roles = scope.STAFF_ROLES
    list_display = ["name", "terminal", "machine_item_id", "ingredients", "is_hidden", "updated_at"]
    list_filter = ["is_hidden", "terminal"]
    search_fields = ["name", "terminal__name"]
    inlines = [RecipeItemInline]
    list_select_related = ["terminal"]
    autocomplete_fields = ["terminal"]
    actions = ["apply_preset"]
    action_roles = {"apply_preset": scope.STAFF_ROLES}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Recipe]:
        return super().get_queryset(request).prefetch_related("items")

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The ingredients are written by `save_recipe`, as through the API: the inline's rows
        (those not deleted, quantity > 0) replace the recipe's; sales deduct by them from now
        on, past sales stay as they were."""
        form.save_m2m()
        items: dict[str, Decimal] = {}
        for formset in formsets:
            formset.save(commit=False)  # what changed, for the history; nothing is written
            for item_form in formset.forms:
                data = getattr(item_form, "cleaned_data", None) or {}
                if data.get("DELETE") or not data.get("item_name") or data.get("quantity") is None:
                    continue
                items[data["item_name"]] = data["quantity"]
        recipe = form.instance
        save_recipe(
            recipe.terminal_id,
            recipe.machine_item_id,
            name=recipe.name,
            items=items,
            is_hidden=recipe.is_hidden,
        )

    @admin.display(description=_("ingredients"))
    def ingredients(self, obj: Recipe) -> str:
        return ", ".join(
            f"{item.item_name} {quantity(item.quantity, item.item_name)}"
            for item in obj.items.all()
        )


@admin.register(RecipePreset)
class RecipePresetAdmin(CabinetModelAdmin):
    """Global presets (no owner) are shown to everyone and changed by platform staff only."""

    owner_field = "owner"
    view_roles = scope.EVERY_ROLE
    write_roles = scope.STAFF_ROLES
    delete_roles = scope.STAFF_ROLES
    list_display = ["name", "owner", "ingredients", "created_at"]
    list_filter = ["owner"]
    search_fields = ["name"]

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        membership = scope.current_membership(request)
        if scope.is_platform_staff(request) or membership is None:
            return super().scope_queryset(request, queryset)
        return queryset.filter(Q(owner_id=membership.owner_id) | Q(owner__isnull=True))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.owner_id is None and not scope.is_platform_staff(request):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.owner_id is None and not scope.is_platform_staff(request):
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description=_("ingredients"))
    def ingredients(self, obj: RecipePreset) -> str:
        return ", ".join(f"{item['item_name']} {item['quantity']:g}" for item in obj.items)
