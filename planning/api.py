"""Staff API: forecasts, pick lists (with their PDF), stock audits with the shrinkage report,
and the owner's planning settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import django_filters
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import FIELD_ERRORS
from core.filters import UtcDateTimeFilter
from core.parsers import SafeJSONParser
from inventory.models import Inventory, Location
from planning import services
from planning.models import (
    AuditMethod,
    Forecast,
    PickList,
    PickListLine,
    PlanningSettings,
    StockAudit,
)
from planning.services.pdf import render_pick_list_pdf
from tasks_app.services import attach_pick_list
from tenancy.fields import OwnedPrimaryKeyRelatedField
from tenancy.models import Role
from tenancy.permissions import STAFF_ROLES, ActsForOwner
from tenancy.views import OwnerAPIView, OwnerScopedMixin, OwnerScopedReadOnlyViewSet
from vendista.models import Terminal

MAX_PHOTO_BYTES = 10 * 1024 * 1024


@contextmanager
def planning_errors_as_400() -> Iterator[None]:
    try:
        yield
    except services.PlanningError as exc:
        raise ValidationError({exc.field: [exc.message]}) from exc


# --- Forecasts ---------------------------------------------------------------------------------


class ForecastSerializer(serializers.ModelSerializer):
    terminal_name = serializers.CharField(source="terminal.name", read_only=True)
    current_stock = serializers.DecimalField(
        source="inventory.current_stock", max_digits=12, decimal_places=3, read_only=True
    )
    max_stock = serializers.DecimalField(
        source="inventory.max_stock", max_digits=12, decimal_places=3, read_only=True
    )
    critical_stock = serializers.DecimalField(
        source="inventory.critical_stock", max_digits=12, decimal_places=3, read_only=True
    )
    weekday_use = serializers.ListField(
        child=serializers.FloatField(), read_only=True, help_text="Monday first."
    )

    class Meta:
        model = Forecast
        fields = [
            "id",
            "inventory",
            "terminal",
            "terminal_name",
            "item_name",
            "current_stock",
            "max_stock",
            "critical_stock",
            "daily_use",
            "weekday_use",
            "days_of_history",
            "critical_on",
            "empty_on",
            "computed_at",
        ]
        read_only_fields = fields


class ForecastFilter(django_filters.FilterSet):
    terminal = django_filters.NumberFilter(field_name="terminal_id")
    item_name = django_filters.CharFilter(max_length=100)
    critical_before = django_filters.DateFilter(field_name="critical_on", lookup_expr="lte")

    class Meta:
        model = Forecast
        fields = ["terminal", "item_name", "critical_before"]


@extend_schema_view(
    list=extend_schema(
        summary="Consumption forecasts per machine container",
        description="Recomputed after each import: expected use per day (recency-weighted, "
        "weekday-aware, days a terminal was offline skipped) and the days the container is "
        "expected to reach its critical level and to run empty.",
    ),
    retrieve=extend_schema(summary="One container's forecast"),
)
class ForecastViewSet(OwnerScopedReadOnlyViewSet):
    """Everyone reads the forecasts."""

    queryset = Forecast.objects.select_related("terminal", "inventory")
    serializer_class = ForecastSerializer
    filterset_class = ForecastFilter
    ordering_fields = ["critical_on", "empty_on"]
    ordering = ["terminal_id", "item_name"]


# --- Pick lists --------------------------------------------------------------------------------


class PickListLineSerializer(serializers.ModelSerializer):
    terminal_name = serializers.CharField(source="terminal.name", read_only=True)
    lasts_until_next_visit = serializers.BooleanField(read_only=True)

    class Meta:
        model = PickListLine
        fields = [
            "terminal",
            "terminal_name",
            "position",
            "item_name",
            "current_stock",
            "expected_at_visit",
            "use_until_next_visit",
            "capacity",
            "quantity",
            "lasts_until_next_visit",
        ]
        read_only_fields = fields


class PickListTotalSerializer(serializers.Serializer):
    item_name = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3)
    warehouse = serializers.DecimalField(max_digits=14, decimal_places=3)
    shortfall = serializers.DecimalField(max_digits=14, decimal_places=3)


class PickListSerializer(serializers.ModelSerializer):
    lines = PickListLineSerializer(many=True, read_only=True)
    totals = PickListTotalSerializer(many=True, read_only=True)
    has_shortfall = serializers.BooleanField(read_only=True)
    route = serializers.ListField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = PickList
        fields = [
            "id",
            "day",
            "next_visit_day",
            "route",
            "lines",
            "totals",
            "has_shortfall",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class PickListCreateSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The visit day (Moscow), today or later.")
    route = serializers.ListField(
        child=OwnedPrimaryKeyRelatedField(queryset=Terminal.objects.all()),
        required=False,
        allow_empty=True,
        max_length=500,
        help_text="Terminals in visiting order; all active terminals when left out.",
    )


PICK_LIST_EXAMPLE = OpenApiExample(
    "one terminal", value={"day": "2030-01-15", "route": [1]}, request_only=True
)


@extend_schema_view(
    list=extend_schema(summary="Pick lists (newest visit day first)"),
    retrieve=extend_schema(summary="One pick list with its lines and totals"),
    create=extend_schema(
        summary="Plan a visit: what to bring to each terminal",
        description="Per terminal and ingredient the quantity that makes the container full at "
        "the visit (stock now minus the forecast use until the visit, whole units, never above "
        "the capacity); totals per ingredient against the warehouse with shortfalls.",
        request=PickListCreateSerializer,
        responses={201: PickListSerializer, 400: FIELD_ERRORS},
        examples=[PICK_LIST_EXAMPLE],
    ),
)
class PickListViewSet(
    OwnerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Everyone plans and reads pick lists (service staff kit their own rounds)."""

    queryset = PickList.objects.prefetch_related("lines__terminal")
    serializer_class = PickListSerializer
    permission_classes = (IsAuthenticated, ActsForOwner)
    # JSON only: a form would carry the route as a thousand repeated fields.
    parser_classes = (SafeJSONParser,)
    ordering = ["-day", "-id"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = PickListCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with planning_errors_as_400():
            pick_list = services.create_pick_list(
                self.owner.pk,
                data["day"],
                route=[terminal.pk for terminal in data.get("route") or []] or None,
                user_id=request.user.pk,
            )
            attach_pick_list(pick_list.pk)
        pick_list = self.get_queryset().get(pk=pick_list.pk)
        return Response(PickListSerializer(pick_list).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The pick list as a printable PDF",
        responses={(200, "application/pdf"): bytes},
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, pk: str | None = None) -> HttpResponse:
        pick_list = self.get_object()
        response = HttpResponse(render_pick_list_pdf(pick_list), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="pick-list-{pick_list.pk}.pdf"'
        return response


# --- Stock audits ------------------------------------------------------------------------------


class StockAuditSerializer(serializers.ModelSerializer):
    terminal_name = serializers.CharField(source="terminal.name", read_only=True)
    variance = serializers.DecimalField(max_digits=13, decimal_places=3, read_only=True)

    class Meta:
        model = StockAudit
        fields = [
            "id",
            "inventory",
            "terminal",
            "terminal_name",
            "item_name",
            "book_level",
            "measured_level",
            "variance",
            "method",
            "photo",
            "comment",
            "audited_by",
            "created_at",
        ]
        read_only_fields = fields


class StockAuditCreateSerializer(serializers.Serializer):
    inventory = OwnedPrimaryKeyRelatedField(
        queryset=Inventory.objects.filter(location=Location.MACHINE),
        help_text="The machine container measured.",
    )
    measured_level = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal(0))
    method = serializers.ChoiceField(choices=AuditMethod.choices)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    photo = serializers.ImageField(required=False, help_text="Optional (multipart), ≤ 10 MB.")

    def validate_photo(self, value: Any) -> Any:
        if value is not None and value.size > MAX_PHOTO_BYTES:
            raise ValidationError(_("The photo is larger than 10 MB."))
        return value


class StockAuditFilter(django_filters.FilterSet):
    terminal = django_filters.NumberFilter(field_name="terminal_id")
    item_name = django_filters.CharFilter(max_length=100)
    since = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = StockAudit
        fields = ["terminal", "item_name", "since", "until"]


AUDIT_EXAMPLE = OpenApiExample(
    "weighed coffee",
    value={"inventory": 1, "measured_level": "640", "method": "weight"},
    request_only=True,
)

SHRINKAGE_RESPONSE = inline_serializer(
    "Shrinkage",
    {
        "rows": inline_serializer(
            "ShrinkageRow",
            {
                "terminal": serializers.IntegerField(),
                "terminal_name": serializers.CharField(),
                "item_name": serializers.CharField(),
                "audits": serializers.IntegerField(),
                "shortage": serializers.DecimalField(max_digits=14, decimal_places=3),
                "surplus": serializers.DecimalField(max_digits=14, decimal_places=3),
                "variance": serializers.DecimalField(max_digits=14, decimal_places=3),
            },
            many=True,
        ),
        "suggestions": inline_serializer(
            "RecipeSuggestion",
            {
                "terminal": serializers.IntegerField(),
                "item_name": serializers.CharField(),
                "recipe_quantity": serializers.DecimalField(max_digits=12, decimal_places=1),
                "measured_quantity": serializers.DecimalField(max_digits=12, decimal_places=1),
                "audits": serializers.IntegerField(),
                "text": serializers.CharField(),
            },
            many=True,
        ),
    },
)


@extend_schema_view(
    list=extend_schema(summary="Stock audits (newest first)"),
    retrieve=extend_schema(summary="One stock audit"),
    create=extend_schema(
        summary="Record a measured container level",
        description="Keeps book and measured; the book stock moves to the measured level in one "
        "change-log row of source `audit` (its delta is the variance).",
        request=StockAuditCreateSerializer,
        responses={201: StockAuditSerializer, 400: FIELD_ERRORS},
        examples=[AUDIT_EXAMPLE],
    ),
)
class StockAuditViewSet(
    OwnerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Everyone records and reads audits; the shrinkage report is for owners and admins."""

    queryset = StockAudit.objects.select_related("terminal")
    serializer_class = StockAuditSerializer
    permission_classes = (IsAuthenticated, ActsForOwner)
    filterset_class = StockAuditFilter
    parser_classes = (SafeJSONParser, MultiPartParser)  # multipart: with a photo
    ordering = ["-created_at", "-id"]
    action_roles = {"shrinkage": STAFF_ROLES, "create": tuple(Role)}

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = StockAuditCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with planning_errors_as_400():
            audit = services.record_audit(
                self.owner.pk,
                data["inventory"].pk,
                data["measured_level"],
                method=data["method"],
                user_id=request.user.pk,
                photo=data.get("photo"),
                comment=data.get("comment", ""),
            )
        audit = self.get_queryset().get(pk=audit.pk)
        return Response(
            StockAuditSerializer(audit, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Shrinkage per terminal and ingredient, with recipe corrections",
        description="Variance of the audits in the period (shortage: less in the container than "
        "the books said). A suggestion appears once a container's last three audits all found "
        "variance in the same direction.",
        parameters=[
            OpenApiParameter("since", str, description="ISO time, inclusive"),
            OpenApiParameter("until", str, description="ISO time, exclusive"),
            OpenApiParameter("terminal", int),
            OpenApiParameter("item_name", str),
        ],
        responses={200: SHRINKAGE_RESPONSE},
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def shrinkage(self, request: Request) -> Response:
        query = StockAuditFilter(request.query_params, queryset=StockAudit.objects.none())
        if not query.is_valid():
            raise ValidationError(query.errors)
        params = query.form.cleaned_data
        rows = services.shrinkage(
            self.owner.pk,
            since=params.get("since"),
            until=params.get("until"),
            terminal_id=params.get("terminal"),
            item_name=params.get("item_name") or None,
        )
        suggestions = services.suggest_recipe_corrections(self.owner.pk)
        return Response(
            {
                "rows": [
                    {
                        "terminal": row.terminal_id,
                        "terminal_name": row.terminal_name,
                        "item_name": row.item_name,
                        "audits": row.audits,
                        "shortage": f"{row.shortage:f}",
                        "surplus": f"{row.surplus:f}",
                        "variance": f"{row.variance:f}",
                    }
                    for row in rows
                ],
                "suggestions": [
                    {
                        "terminal": s.terminal_id,
                        "item_name": s.item_name,
                        "recipe_quantity": f"{s.recipe_quantity:f}",
                        "measured_quantity": f"{s.measured_quantity:f}",
                        "audits": s.audits,
                        "text": s.text,
                    }
                    for s in suggestions
                ],
            }
        )


# --- Settings ----------------------------------------------------------------------------------


class PlanningSettingsSerializer(serializers.ModelSerializer):
    visit_interval_days = serializers.IntegerField(min_value=1, max_value=60, required=False)
    early_task_horizon_days = serializers.IntegerField(
        min_value=0,
        max_value=30,
        required=False,
        help_text="A restock task opens when a container is forecast to reach its critical "
        "level within this many days (0: only once it has).",
    )

    class Meta:
        model = PlanningSettings
        fields = ["visit_interval_days", "early_task_horizon_days"]


class PlanningSettingsView(OwnerAPIView):
    """`/api/planning-settings/`: everyone reads; owners and admins change."""

    allowed_roles = tuple(Role)
    write_roles = STAFF_ROLES

    @extend_schema(
        summary="The owner's planning settings",
        description="Defaults until changed: a visit every 7 days, no early tasks.",
        responses={200: PlanningSettingsSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(PlanningSettingsSerializer(services.settings_of(self.owner.pk)).data)

    @extend_schema(
        summary="Change the owner's planning settings",
        request=PlanningSettingsSerializer,
        responses={200: PlanningSettingsSerializer, 400: FIELD_ERRORS},
        examples=[
            OpenApiExample(
                "weekly, two days ahead",
                value={"visit_interval_days": 7, "early_task_horizon_days": 2},
                request_only=True,
            )
        ],
    )
    def patch(self, request: Request) -> Response:
        current, _created = PlanningSettings.objects.get_or_create(owner=self.owner)
        serializer = PlanningSettingsSerializer(current, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)
