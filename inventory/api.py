"""Stock, its change log, transfers and warehouse operations; recipes and presets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from core.filters import UtcDateTimeFilter
from inventory import services
from inventory.models import (
    ChangeSource,
    Inventory,
    InventoryChange,
    Location,
    Recipe,
    RecipeItem,
    RecipePreset,
)
from inventory.reference import units
from tasks_app.services import move_stock
from tenancy.fields import OwnedPrimaryKeyRelatedField
from tenancy.models import Role
from tenancy.permissions import STAFF_ROLES, ActsForOwner
from tenancy.views import OwnerScopedMixin, OwnerScopedModelViewSet, OwnerScopedReadOnlyViewSet
from vendista.models import Terminal


def item_name_field() -> serializers.CharField:
    return serializers.CharField(max_length=100, trim_whitespace=True)


def quantity_field(*, positive: bool = False, help_text: str = "") -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=12,
        decimal_places=3,
        min_value=Decimal("0.001") if positive else None,
        help_text=help_text,
    )


@contextmanager
def stock_errors_as_400() -> Iterator[None]:
    """A stock operation the stock does not allow becomes a 400 naming the field at fault."""
    try:
        yield
    except services.StockError as error:
        raise ValidationError({error.field: [error.message]}) from None


# --- Stock ---------------------------------------------------------------------------------------


class InventorySerializer(serializers.ModelSerializer):
    unit = serializers.SerializerMethodField()

    class Meta:
        model = Inventory
        fields = [
            "id",
            "location",
            "terminal",
            "item_name",
            "unit",
            "current_stock",
            "max_stock",
            "critical_stock",
            "updated_at",
        ]
        read_only_fields = fields

    def get_unit(self, row: Inventory) -> str | None:
        return units().get(row.item_name)


class InventoryFilter(django_filters.FilterSet):
    location = django_filters.ChoiceFilter(choices=Location.choices)
    terminal = django_filters.NumberFilter(field_name="terminal_id")
    item_name = django_filters.CharFilter(max_length=100)
    critical = django_filters.BooleanFilter(method="filter_critical", label="At or below critical")

    class Meta:
        model = Inventory
        fields = ["location", "terminal", "item_name", "critical"]

    def filter_critical(
        self, queryset: QuerySet[Inventory], name: str, value: bool | None
    ) -> QuerySet[Inventory]:
        at_or_below = Q(critical_stock__isnull=False, current_stock__lte=F("critical_stock"))
        if value is None:
            return queryset
        return queryset.filter(at_or_below) if value else queryset.exclude(at_or_below)


class PlaceSerializer(serializers.Serializer):
    location = serializers.ChoiceField(choices=Location.choices)
    terminal = OwnedPrimaryKeyRelatedField(
        queryset=Terminal.objects.all(), required=False, allow_null=True, default=None
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        warehouse = attrs["location"] == Location.WAREHOUSE
        if warehouse and attrs.get("terminal") is not None:
            raise ValidationError({"terminal": _("The warehouse belongs to no terminal.")})
        if not warehouse and attrs.get("terminal") is None:
            raise ValidationError({"terminal": _("Name the terminal of this stand or machine.")})
        return attrs

    def place(self, attrs: dict[str, Any]) -> services.Place:
        terminal = attrs.get("terminal")
        return services.Place(attrs["location"], terminal.pk if terminal else None)


class TransferSerializer(serializers.Serializer):
    # "source" shadows Field.source only for the type checker: the metaclass collects fields.
    source = PlaceSerializer()  # type: ignore[assignment]
    destination = PlaceSerializer()
    item_name = item_name_field()
    quantity = quantity_field(positive=True)


class TransferResultSerializer(serializers.Serializer):
    source = InventorySerializer()  # type: ignore[assignment]
    destination = InventorySerializer()
    closed_task_ids = serializers.ListField(child=serializers.IntegerField())


class AdjustSerializer(serializers.Serializer):
    item_name = item_name_field()
    quantity = quantity_field(help_text="Positive adds to the warehouse, negative writes off.")

    def validate_quantity(self, value: Decimal) -> Decimal:
        if value == 0:
            raise ValidationError(_("Must not be zero."))
        return value


class StockUpItemSerializer(serializers.Serializer):
    item_name = item_name_field()
    quantity = quantity_field(positive=True)


class StockUpSerializer(serializers.Serializer):
    items = StockUpItemSerializer(many=True, allow_empty=False)

    def validate_items(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = [row["item_name"] for row in value]
        if len(names) != len(set(names)):
            raise ValidationError(_("Each ingredient only once."))
        if len(names) > 100:
            raise ValidationError(_("At most 100 ingredients at once."))
        return value


@extend_schema_view(
    list=extend_schema(summary="Stock rows: warehouse, stands and machines"),
    retrieve=extend_schema(summary="One stock row"),
)
class InventoryViewSet(OwnerScopedReadOnlyViewSet):
    """Current stock per location. Everyone reads and transfers (service staff refill machines
    from stands); owners and admins adjust the warehouse."""

    queryset = Inventory.objects.select_related("terminal")
    serializer_class = InventorySerializer
    filterset_class = InventoryFilter
    ordering_fields = ["item_name", "location", "current_stock", "updated_at"]
    ordering = ["location", "terminal_id", "item_name"]
    action_roles = {"transfer": tuple(Role), "adjust": STAFF_ROLES, "stock_up": STAFF_ROLES}

    @extend_schema(
        summary="Move stock between places (warehouse, stand, machine)",
        description="Locks both rows; refuses to take more than the source has or to fill the "
        "destination above its capacity. Moving into a machine completes the terminal's open "
        "restock task once nothing it names is critical.",
        request=TransferSerializer,
        responses={200: TransferResultSerializer},
        examples=[
            OpenApiExample(
                "Warehouse to a machine",
                request_only=True,
                value={
                    "source": {"location": "warehouse"},
                    "destination": {"location": "machine", "terminal": 7},
                    "item_name": "Кофе",
                    "quantity": "1000",
                },
            )
        ],
    )
    @action(detail=False, methods=["post"])
    def transfer(self, request: Request) -> Response:
        serializer = TransferSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        place = PlaceSerializer()
        with stock_errors_as_400():
            result = move_stock(
                self.owner.pk,
                place.place(data["source"]),
                place.place(data["destination"]),
                data["item_name"],
                data["quantity"],
                user_id=request.user.pk,
            )
        return Response(TransferResultSerializer(result).data)

    @extend_schema(
        summary="Add to or write off warehouse stock of one ingredient",
        request=AdjustSerializer,
        responses={200: InventorySerializer},
        examples=[
            OpenApiExample(
                "Write off spoiled cream",
                request_only=True,
                value={"item_name": "Сливки", "quantity": "-500"},
            )
        ],
    )
    @action(detail=False, methods=["post"], url_path="warehouse/adjust")
    def adjust(self, request: Request) -> Response:
        serializer = AdjustSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with stock_errors_as_400():
            row = services.adjust_warehouse(
                self.owner.pk,
                serializer.validated_data["item_name"],
                serializer.validated_data["quantity"],
                user_id=request.user.pk,
            )
        return Response(InventorySerializer(row).data)

    @extend_schema(
        summary="Record a delivery to the warehouse (several ingredients)",
        request=StockUpSerializer,
        responses={201: InventorySerializer(many=True)},
        examples=[
            OpenApiExample(
                "A delivery",
                request_only=True,
                value={
                    "items": [
                        {"item_name": "Кофе", "quantity": "10000"},
                        {"item_name": "Стаканы", "quantity": "1000"},
                    ]
                },
            )
        ],
    )
    @action(detail=False, methods=["post"], url_path="warehouse/stock-up", pagination_class=None)
    def stock_up(self, request: Request) -> Response:
        serializer = StockUpSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with stock_errors_as_400():
            rows = services.stock_up_warehouse(
                self.owner.pk,
                {row["item_name"]: row["quantity"] for row in serializer.validated_data["items"]},
                user_id=request.user.pk,
            )
        return Response(InventorySerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


class InventoryChangeSerializer(serializers.ModelSerializer):
    changed_by = serializers.CharField(source="changed_by.username", default=None, allow_null=True)

    class Meta:
        model = InventoryChange
        fields = [
            "id",
            "created_at",
            "location",
            "terminal",
            "item_name",
            "source",
            "quantity_before",
            "quantity_after",
            "changed_by",
        ]
        read_only_fields = fields


class InventoryChangeFilter(django_filters.FilterSet):
    location = django_filters.ChoiceFilter(choices=Location.choices)
    terminal = django_filters.NumberFilter(field_name="terminal_id")
    source = django_filters.ChoiceFilter(choices=ChangeSource.choices)
    item_name = django_filters.CharFilter(max_length=100)
    since = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = InventoryChange
        fields = ["location", "terminal", "source", "item_name", "since", "until"]


@extend_schema_view(
    list=extend_schema(summary="The stock change log (newest first)"),
    retrieve=extend_schema(summary="One stock change"),
)
class InventoryChangeViewSet(OwnerScopedReadOnlyViewSet):
    """Every stock change with its place, source, before and after. Owners and admins."""

    queryset = InventoryChange.objects.select_related("changed_by")
    serializer_class = InventoryChangeSerializer
    filterset_class = InventoryChangeFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
    allowed_roles = STAFF_ROLES


# --- Recipes -------------------------------------------------------------------------------------


class RecipeItemSerializer(serializers.ModelSerializer):
    item_name = item_name_field()
    quantity = serializers.DecimalField(max_digits=10, decimal_places=3, min_value=Decimal(0))

    class Meta:
        model = RecipeItem
        fields = ["item_name", "quantity"]


def _items_map(items: list[dict[str, Any]]) -> dict[str, Decimal]:
    names = [row["item_name"] for row in items]
    if len(names) != len(set(names)):
        raise ValidationError({"items": [_("Each ingredient only once.")]})
    return {row["item_name"]: row["quantity"] for row in items}


class RecipeSerializer(serializers.ModelSerializer):
    terminal = OwnedPrimaryKeyRelatedField(queryset=Terminal.objects.all())
    machine_item_id = serializers.IntegerField(min_value=0, max_value=2**31 - 1)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    items = RecipeItemSerializer(many=True)
    save_as_preset = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="Also keep these ingredients as the owner's preset "
        '"<recipe name> (<terminal name>)".',
    )

    class Meta:
        model = Recipe
        fields = [
            "id",
            "terminal",
            "machine_item_id",
            "name",
            "is_hidden",
            "items",
            "updated_at",
            "save_as_preset",
        ]
        read_only_fields = ["id", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None:
            for field in ("terminal", "machine_item_id"):
                if field in attrs and attrs[field] != getattr(self.instance, field):
                    raise ValidationError({field: [_("Cannot be changed; copy the recipe.")]})
        elif Recipe.objects.filter(
            terminal=attrs["terminal"], machine_item_id=attrs["machine_item_id"]
        ).exists():
            raise ValidationError(
                {"machine_item_id": [_("This drink already has a recipe on this terminal.")]}
            )
        if "items" in attrs:
            attrs["items_map"] = _items_map(attrs.pop("items"))
        return attrs

    def save_recipe(self, owner_id: int) -> Recipe:
        data = dict(self.validated_data)
        instance: Recipe | None = self.instance
        terminal = instance.terminal if instance else data["terminal"]
        machine_item_id = instance.machine_item_id if instance else data["machine_item_id"]
        name = (
            data.get("name")
            or (instance.name if instance else "")
            or (_("Drink #%(id)s") % {"id": machine_item_id})
        )
        items = data.get("items_map")
        if items is None and instance is not None:
            items = {item.item_name: item.quantity for item in instance.items.all()}
        recipe = services.save_recipe(
            terminal.pk,
            machine_item_id,
            name=str(name),
            items=items or {},
            is_hidden=data.get("is_hidden"),
        )
        if data.get("save_as_preset") and items:
            services.save_owner_preset(owner_id, f"{name} ({terminal})", items)
        return recipe


class RecipeFilter(django_filters.FilterSet):
    terminal = django_filters.NumberFilter(field_name="terminal_id")
    machine_item_id = django_filters.NumberFilter()
    is_hidden = django_filters.BooleanFilter()

    class Meta:
        model = Recipe
        fields = ["terminal", "machine_item_id", "is_hidden"]


class CopyRecipesSerializer(serializers.Serializer):
    source_terminal = OwnedPrimaryKeyRelatedField(queryset=Terminal.objects.all())
    destination_terminals = OwnedPrimaryKeyRelatedField(
        queryset=Terminal.objects.all(), many=True, allow_empty=False
    )


RECIPE_EXAMPLE = OpenApiExample(
    "Cappuccino on machine item 3",
    request_only=True,
    value={
        "terminal": 7,
        "machine_item_id": 3,
        "name": "Капучино",
        "items": [
            {"item_name": "Кофе", "quantity": "10"},
            {"item_name": "Вода", "quantity": "175"},
            {"item_name": "Сливки", "quantity": "34"},
            {"item_name": "Стаканы", "quantity": "1"},
        ],
        "is_hidden": False,
        "save_as_preset": False,
    },
)


@extend_schema_view(
    list=extend_schema(summary="Recipes per terminal and machine item"),
    retrieve=extend_schema(summary="One recipe"),
    create=extend_schema(summary="Create a recipe", examples=[RECIPE_EXAMPLE]),
    update=extend_schema(
        summary="Replace a recipe's name, ingredients and visibility", examples=[RECIPE_EXAMPLE]
    ),
    partial_update=extend_schema(
        summary="Change a recipe: rename, hide or show, or replace its ingredients",
        examples=[OpenApiExample("Hide", value={"is_hidden": True}, request_only=True)],
    ),
    destroy=extend_schema(summary="Delete a recipe (its sales will need a recipe again)"),
)
class RecipeViewSet(OwnerScopedModelViewSet):
    """What each drink consumes. Everyone reads; owners and admins change recipes. Changes apply
    from the next deducted sale."""

    queryset = Recipe.objects.select_related("terminal").prefetch_related("items")
    serializer_class = RecipeSerializer
    owner_field = "terminal__owner"
    filterset_class = RecipeFilter
    ordering_fields = ["machine_item_id", "name", "updated_at"]
    ordering = ["terminal_id", "machine_item_id"]
    write_roles = STAFF_ROLES

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = serializer.save_recipe(self.owner.pk)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = serializer.save_recipe(self.owner.pk)

    @extend_schema(
        summary="Copy every recipe of one terminal to others (by machine item)",
        request=CopyRecipesSerializer,
        responses={
            200: inline_serializer("RecipesCopied", {"recipes_written": serializers.IntegerField()})
        },
        examples=[
            OpenApiExample(
                "To two terminals",
                request_only=True,
                value={"source_terminal": 7, "destination_terminals": [8, 9]},
            ),
            OpenApiExample("Result", response_only=True, value={"recipes_written": 24}),
        ],
    )
    @action(detail=False, methods=["post"])
    def copy(self, request: Request) -> Response:
        serializer = CopyRecipesSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        written = services.copy_recipes(
            data["source_terminal"].pk, [t.pk for t in data["destination_terminals"]]
        )
        return Response({"recipes_written": written})


class PresetSerializer(serializers.ModelSerializer):
    items = RecipeItemSerializer(many=True)
    is_global = serializers.SerializerMethodField()
    name = serializers.CharField(max_length=255, trim_whitespace=True)

    class Meta:
        model = RecipePreset
        fields = ["id", "name", "is_global", "items", "created_at"]
        read_only_fields = ["id", "is_global", "created_at"]

    def get_is_global(self, preset: RecipePreset) -> bool:
        return preset.owner_id is None

    def validate_items(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        _items_map(value)
        if not any(row["quantity"] > 0 for row in value):
            raise ValidationError(_("Name at least one ingredient with a quantity."))
        return value


PRESET_EXAMPLE = OpenApiExample(
    "Own latte",
    request_only=True,
    value={
        "name": "Латте (300 мл)",
        "items": [
            {"item_name": "Кофе", "quantity": "9"},
            {"item_name": "Вода", "quantity": "120"},
            {"item_name": "Сливки", "quantity": "40"},
            {"item_name": "Стаканы", "quantity": "1"},
        ],
    },
)


@extend_schema_view(
    list=extend_schema(summary="Drink presets: the global ones and the owner's own"),
    retrieve=extend_schema(summary="One preset"),
    create=extend_schema(
        summary="Save an own preset (replaces one of the same name)", examples=[PRESET_EXAMPLE]
    ),
    update=extend_schema(summary="Replace an own preset", examples=[PRESET_EXAMPLE]),
    partial_update=extend_schema(
        summary="Change an own preset",
        examples=[OpenApiExample("Rename", value={"name": "Латте XL"}, request_only=True)],
    ),
    destroy=extend_schema(summary="Delete an own preset (global ones cannot be deleted)"),
)
class PresetViewSet(OwnerScopedMixin, viewsets.ModelViewSet):
    """Recipe templates. Global presets are read-only; owners and admins manage their own."""

    queryset = RecipePreset.objects.all()
    serializer_class = PresetSerializer
    permission_classes = (IsAuthenticated, ActsForOwner)
    ordering = ["owner_id", "name"]
    write_roles = STAFF_ROLES

    def get_queryset(self) -> QuerySet[RecipePreset]:
        own = Q(owner=self.owner)
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            own |= Q(owner__isnull=True)
        return RecipePreset.objects.filter(own).order_by("owner_id", "name")

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        items = {row["item_name"]: row["quantity"] for row in data["items"]}
        serializer.instance = services.save_owner_preset(self.owner.pk, data["name"], items)

    def perform_update(self, serializer: Any) -> None:
        preset: RecipePreset = serializer.instance
        data = serializer.validated_data
        name = data.get("name", preset.name)
        taken = RecipePreset.objects.filter(owner=self.owner, name=name).exclude(pk=preset.pk)
        if taken.exists():
            raise ValidationError({"name": [_("You already have a preset with this name.")]})
        preset.name = name
        if "items" in data:
            preset.items = services.preset_items(
                {row["item_name"]: row["quantity"] for row in data["items"]}
            )
        preset.save(update_fields=["name", "items"])
