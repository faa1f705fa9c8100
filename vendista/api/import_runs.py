"""`GET /api/import-runs/`: the owner's Vendista imports and terminal syncs, with their counts."""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers

from core.api import FIELD_ERRORS
from core.filters import MoscowDayFilter, PeriodFilterForm
from tenancy.permissions import STAFF_ROLES
from tenancy.views import OwnerScopedReadOnlyViewSet
from vendista.models import ImportMode, ImportRun, RunKind, RunStatus


class ImportRunSerializer(serializers.ModelSerializer[ImportRun]):
    window_from = serializers.DateTimeField(source="date_from", read_only=True, allow_null=True)
    window_to = serializers.DateTimeField(source="date_to", read_only=True, allow_null=True)
    duration_s = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = ImportRun
        fields = [
            "id",
            "kind",
            "mode",
            "trigger",
            "status",
            "window_from",
            "window_to",
            "pages_done",
            "pages_total",
            "fetched",
            "inserted",
            "updated",
            "deducted",
            "needs_recipe",
            "unknown_terminal",
            "restored",
            "tasks_created",
            "invalid",
            "attempts",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "duration_s",
        ]
        read_only_fields = fields


IMPORT_RUN_EXAMPLE = {
    "id": 5012,
    "kind": "import",
    "mode": "regular",
    "trigger": "schedule_15min",
    "status": "succeeded",
    "window_from": "2026-11-19T10:15:00+03:00",
    "window_to": "2026-11-20T10:15:00+03:00",
    "pages_done": 2,
    "pages_total": 2,
    "fetched": 1210,
    "inserted": 57,
    "updated": 1153,
    "deducted": 55,
    "needs_recipe": 2,
    "unknown_terminal": 0,
    "restored": 0,
    "tasks_created": 1,
    "invalid": 0,
    "attempts": 1,
    "error": "",
    "created_at": "2026-11-20T10:15:00+03:00",
    "started_at": "2026-11-20T10:15:01+03:00",
    "finished_at": "2026-11-20T10:15:04+03:00",
    "duration_s": 3.2,
}


class ImportRunFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=RunStatus.choices)
    mode = filters.ChoiceFilter(choices=ImportMode.choices)
    kind = filters.ChoiceFilter(choices=RunKind.choices)
    date_from = MoscowDayFilter(
        field_name="created_at",
        lookup_expr="gte",
        help_text="Queued on or after this Moscow calendar day (YYYY-MM-DD)",
    )
    date_to = MoscowDayFilter(
        field_name="created_at",
        lookup_expr="lt",
        help_text="Queued on or before this Moscow calendar day, included (YYYY-MM-DD)",
    )

    class Meta:
        model = ImportRun
        fields = ["status", "mode", "kind", "date_from", "date_to"]
        form = PeriodFilterForm


@extend_schema_view(
    list=extend_schema(
        summary="Import runs",
        description="The owner's Vendista imports and terminal syncs, latest first: window, "
        "progress, counts and outcome. Owners and admins.",
        parameters=[
            OpenApiParameter(
                "ordering",
                {"type": "string", "enum": ["created_at", "-created_at", "id", "-id"]},
                description="Sort order; default `-created_at` (latest first)",
            )
        ],
        responses={200: ImportRunSerializer, 400: FIELD_ERRORS},
        examples=[
            OpenApiExample(
                "page",
                value=IMPORT_RUN_EXAMPLE,
                response_only=True,
                description="one row of a page",
            )
        ],
    ),
    retrieve=extend_schema(
        summary="One import run",
        examples=[OpenApiExample("run", value=IMPORT_RUN_EXAMPLE, response_only=True)],
    ),
)
class ImportRunViewSet(OwnerScopedReadOnlyViewSet):
    queryset = ImportRun.objects.all()
    serializer_class = ImportRunSerializer
    allowed_roles = STAFF_ROLES
    filterset_class = ImportRunFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]
