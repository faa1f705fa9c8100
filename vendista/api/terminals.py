"""Terminals (coffee points) for staff: online state, stock summary, configuration flags,
container settings and the machine items seen in sales."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from inventory.models import CONTAINER_LOCATIONS, Inventory, Recipe
from inventory.reference import units
from inventory.services import (
    ContainerSetting,
    containers_unconfigured,
    copy_container_settings,
    machine_rows,
    set_container_settings,
)
from tasks_app.models import TaskStatus, TaskType
from tenancy.fields import OwnedPrimaryKeyRelatedField
from tenancy.permissions import STAFF_ROLES
from tenancy.views import OwnerScopedReadOnlyViewSet
from vendista.models import DeductionState, Terminal, Transaction

# Stock summary groups by base unit (reference data): liquids, grams, pieces.
GROUPS = {"ml": "liquids", "g": "grams", "pcs": "pieces"}


class MachineRowSerializer(serializers.ModelSerializer):
    percentage = serializers.SerializerMethodField()
    is_critical = serializers.SerializerMethodField()

    class Meta:
        model = Inventory
        fields = [
            "item_name",
            "current_stock",
            "max_stock",
            "critical_stock",
            "percentage",
            "is_critical",
        ]
        read_only_fields = fields

    def get_percentage(self, row: Inventory) -> int | None:
        return row.fill_percentage()

    def get_is_critical(self, row: Inventory) -> bool:
        return row.is_critical()


class MissingRecipeSerializer(serializers.Serializer):
    machine_item_id = serializers.IntegerField()
    sales = serializers.IntegerField(help_text=_("Sales of this drink that had no recipe."))


class TerminalSerializer(serializers.ModelSerializer):
    stock_summary = serializers.SerializerMethodField(
        help_text="Lowest fill level (%) per group of the machine's containers: liquids (ml), "
        "grams (g) and pieces (pcs); null when no container of the group is configured."
    )
    needs_containers_config = serializers.SerializerMethodField()
    recipes_missing = serializers.SerializerMethodField()
    machine_inventory = serializers.SerializerMethodField()
    open_restock_task = serializers.SerializerMethodField()

    class Meta:
        model = Terminal
        fields = [
            "id",
            "vendista_id",
            "name",
            "serial_number",
            "is_online",
            "last_online_time",
            "is_active",
            "last_synced_at",
            "sales_since_cleaning",
            "stock_summary",
            "needs_containers_config",
            "recipes_missing",
            "machine_inventory",
            "open_restock_task",
        ]
        read_only_fields = fields

    def _machine(self, terminal: Terminal) -> list[Inventory]:
        return list(getattr(terminal, "machine_rows", []))

    def get_stock_summary(self, terminal: Terminal) -> dict[str, int | None]:
        unit_of = units()
        levels: dict[str, list[Decimal]] = defaultdict(list)
        for row in self._machine(terminal):
            group = GROUPS.get(unit_of.get(row.item_name, ""))
            if group and row.max_stock and row.max_stock > 0:
                levels[group].append(row.current_stock / row.max_stock)
        return {
            group: (round(min(levels[group]) * 100) if levels[group] else None)
            for group in GROUPS.values()
        }

    def get_needs_containers_config(self, terminal: Terminal) -> bool:
        return containers_unconfigured(self._machine(terminal))

    @extend_schema_field(MissingRecipeSerializer(many=True))
    def get_recipes_missing(self, terminal: Terminal) -> list[dict[str, Any]]:
        missing: dict[int, list[dict[str, Any]]] = self.context.get("recipes_missing", {})
        return missing.get(terminal.pk, [])

    @extend_schema_field(MachineRowSerializer(many=True))
    def get_machine_inventory(self, terminal: Terminal) -> list[dict[str, Any]]:
        return MachineRowSerializer(self._machine(terminal), many=True).data  # type: ignore[return-value]

    def get_open_restock_task(self, terminal: Terminal) -> int | None:
        open_tasks = getattr(terminal, "open_restock", [])
        return open_tasks[0].pk if open_tasks else None


def recipes_missing(owner_id: int, terminal_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Per terminal: the machine items whose sales were imported without a recipe, with counts
    (one grouped query over the partial index on open deduction states)."""
    rows = (
        Transaction.objects.filter(
            owner_id=owner_id,
            terminal_id__in=terminal_ids,
            deduction_state=DeductionState.NEEDS_RECIPE,
        )
        .values("terminal_id", "machine_item_id")
        .annotate(sales=Count("id"))
        .order_by("terminal_id", "machine_item_id")
    )
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)  # terminal → items
    for row in rows:
        found[row["terminal_id"]].append(
            {"machine_item_id": row["machine_item_id"], "sales": row["sales"]}
        )
    return dict(found)


class TerminalFilter(django_filters.FilterSet):
    is_active = django_filters.BooleanFilter()
    is_online = django_filters.BooleanFilter()
    name = django_filters.CharFilter(lookup_expr="icontains", max_length=255)

    class Meta:
        model = Terminal
        fields = ["is_active", "is_online", "name"]


class ContainerSerializer(serializers.Serializer):
    item_name = serializers.CharField(max_length=100, trim_whitespace=True)
    location = serializers.ChoiceField(choices=CONTAINER_LOCATIONS)
    max_stock = serializers.DecimalField(
        max_digits=12, decimal_places=3, min_value=Decimal(0), allow_null=True
    )
    critical_stock = serializers.DecimalField(
        max_digits=12, decimal_places=3, min_value=Decimal(0), allow_null=True
    )
    current_stock = serializers.DecimalField(max_digits=12, decimal_places=3, read_only=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        top, critical = attrs.get("max_stock"), attrs.get("critical_stock")
        if top is not None and critical is not None and critical > top:
            raise serializers.ValidationError(
                {"critical_stock": _("Must not be above the capacity.")}
            )
        return attrs


class ContainerSettingsSerializer(serializers.Serializer):
    containers = ContainerSerializer(many=True, allow_empty=False)

    def validate_containers(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > 200:
            raise serializers.ValidationError(_("At most 200 rows at once."))
        keys = [(row["location"], row["item_name"]) for row in value]
        if len(keys) != len(set(keys)):
            raise serializers.ValidationError(_("Each ingredient and location only once."))
        return value


class CopyContainersSerializer(serializers.Serializer):
    destinations = OwnedPrimaryKeyRelatedField(
        queryset=Terminal.objects.all(), many=True, allow_empty=False
    )


class MachineItemSerializer(serializers.Serializer):
    machine_item_id = serializers.IntegerField()
    sales = serializers.IntegerField()
    needs_recipe = serializers.IntegerField()
    recipe_id = serializers.IntegerField(allow_null=True)
    recipe_name = serializers.CharField(allow_null=True)
    last_sale_at = serializers.DateTimeField()


CONTAINERS_EXAMPLE = OpenApiExample(
    "Coffee and water containers",
    value={
        "containers": [
            {
                "item_name": "Кофе",
                "location": "machine",
                "max_stock": "1500",
                "critical_stock": "500",
            },
            {
                "item_name": "Вода",
                "location": "machine",
                "max_stock": "38000",
                "critical_stock": "10000",
            },
            {
                "item_name": "Кофе",
                "location": "stand",
                "max_stock": "10000",
                "critical_stock": None,
            },
        ]
    },
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(
        summary="The owner's terminals with stock summary and configuration flags",
        examples=[
            OpenApiExample(
                "One terminal",
                response_only=True,
                value={
                    "count": 1,
                    "next": None,
                    "previous": None,
                    "results": [
                        {
                            "id": 7,
                            "vendista_id": 120045,
                            "name": "БЦ Нева, 1 этаж",
                            "serial_number": "VT-0042",
                            "is_online": True,
                            "last_online_time": "2026-11-28T09:14:00Z",
                            "is_active": True,
                            "last_synced_at": "2026-11-28T09:15:02Z",
                            "sales_since_cleaning": 84,
                            "stock_summary": {"liquids": 61, "grams": 22, "pieces": 48},
                            "needs_containers_config": False,
                            "recipes_missing": [{"machine_item_id": 9, "sales": 3}],
                            "machine_inventory": [
                                {
                                    "item_name": "Кофе",
                                    "current_stock": "330.000",
                                    "max_stock": "1500.000",
                                    "critical_stock": "500.000",
                                    "percentage": 22,
                                    "is_critical": True,
                                }
                            ],
                            "open_restock_task": 31,
                        }
                    ],
                },
            )
        ],
    ),
    retrieve=extend_schema(summary="One terminal"),
)
class TerminalViewSet(OwnerScopedReadOnlyViewSet):
    """Terminals of the owner the request acts for. Everyone reads; owners and admins configure."""

    queryset = Terminal.objects.all()
    serializer_class = TerminalSerializer
    filterset_class = TerminalFilter
    ordering_fields = ["name", "id", "last_online_time", "sales_since_cleaning"]
    ordering = ["name", "id"]
    write_roles = STAFF_ROLES

    def get_queryset(self) -> QuerySet[Terminal]:
        return (
            super()
            .get_queryset()
            .prefetch_related(
                machine_rows(),
                Prefetch(
                    "tasks",
                    queryset=self._open_restock(),
                    to_attr="open_restock",
                ),
            )
        )

    @staticmethod
    def _open_restock() -> QuerySet[Any]:
        from tasks_app.models import Task

        return Task.objects.filter(status=TaskStatus.PENDING, task_type=TaskType.RESTOCK)

    def _context_for(self, terminals: list[Terminal]) -> dict[str, Any]:
        context = dict(self.get_serializer_context())
        context["recipes_missing"] = recipes_missing(self.owner.pk, [t.pk for t in terminals])
        return context

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        terminals = list(page if page is not None else queryset)
        data = TerminalSerializer(terminals, many=True, context=self._context_for(terminals)).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        terminal = self.get_object()
        return Response(TerminalSerializer(terminal, context=self._context_for([terminal])).data)

    @extend_schema(
        summary="Container settings of a terminal (stand and machine rows)",
        responses=ContainerSerializer(many=True),
        methods=["GET"],
    )
    @extend_schema(
        summary="Set capacity and critical level per ingredient and location",
        description="Rows are created at stock 0 when missing; current stock is never changed.",
        request=ContainerSettingsSerializer,
        responses=ContainerSerializer(many=True),
        examples=[CONTAINERS_EXAMPLE],
        methods=["PUT"],
    )
    @action(detail=True, methods=["get", "put"], url_path="containers", pagination_class=None)
    def containers(self, request: Request, pk: str | None = None) -> Response:
        terminal = self.get_object()
        if request.method == "PUT":
            serializer = ContainerSettingsSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            rows = set_container_settings(
                self.owner.pk,
                terminal.pk,
                [ContainerSetting(**row) for row in serializer.validated_data["containers"]],
            )
        else:
            rows = list(
                Inventory.objects.filter(owner=self.owner, terminal=terminal).order_by(
                    "location", "item_name"
                )
            )
        return Response(ContainerSerializer(rows, many=True).data)

    @extend_schema(
        summary="Copy this terminal's machine containers to other terminals",
        request=CopyContainersSerializer,
        responses={
            200: inline_serializer("ContainersCopied", {"rows_written": serializers.IntegerField()})
        },
        examples=[
            OpenApiExample("Two terminals", value={"destinations": [8, 9]}, request_only=True),
            OpenApiExample("Result", value={"rows_written": 26}, response_only=True),
        ],
    )
    @action(detail=True, methods=["post"], url_path="copy-containers")
    def copy_containers(self, request: Request, pk: str | None = None) -> Response:
        terminal = self.get_object()
        serializer = CopyContainersSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        written = copy_container_settings(
            self.owner.pk, terminal.pk, [t.pk for t in serializer.validated_data["destinations"]]
        )
        return Response({"rows_written": written}, status=status.HTTP_200_OK)

    @extend_schema(
        summary="Machine items seen in this terminal's sales, with their recipes",
        responses=MachineItemSerializer(many=True),
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="machine-items",
        filterset_class=None,
        pagination_class=None,
    )
    def machine_items(self, request: Request, pk: str | None = None) -> Response:
        terminal = self.get_object()
        seen = (
            Transaction.objects.filter(
                owner_id=self.owner.pk, terminal_id=terminal.pk, machine_item_id__isnull=False
            )
            .values("machine_item_id")
            .annotate(
                sales=Count("id"),
                needs_recipe=Count("id", filter=Q(deduction_state=DeductionState.NEEDS_RECIPE)),
                last_sale_at=Max("time"),
            )
            .order_by("machine_item_id")
        )
        recipes: dict[int | None, Recipe] = {
            recipe.machine_item_id: recipe for recipe in Recipe.objects.filter(terminal=terminal)
        }
        data = [
            {
                **row,
                "recipe_id": getattr(recipes.get(row["machine_item_id"]), "pk", None),
                "recipe_name": getattr(recipes.get(row["machine_item_id"]), "name", None),
            }
            for row in seen
        ]
        return Response(MachineItemSerializer(data, many=True).data)
