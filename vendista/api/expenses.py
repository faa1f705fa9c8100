"""`/api/expenses/`: the owner's expenses (rubles), which the finance summary subtracts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.parsers import JSONParser

from core.api import FIELD_ERRORS, FIRST_DATE, LAST_DATE, MoscowDateTimeField
from core.clock import moscow_midnight
from core.filters import MoscowDayFilter, PeriodFilterForm
from tenancy.permissions import STAFF_ROLES
from tenancy.views import OwnerScopedModelViewSet
from vendista.models import Expense

MAX_AMOUNT = Decimal("9999999999.99")


class ExpenseSerializer(serializers.ModelSerializer[Expense]):
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=MAX_AMOUNT,
        help_text="rubles, more than 0",
    )
    comment = serializers.CharField(max_length=1000, allow_blank=True, required=False)
    spent_at = MoscowDateTimeField(
        help_text="when the money was spent: Moscow local time (2026-11-05T14:30, or just "
        "2026-11-05 for the day's start) or ISO 8601 with an offset",
    )
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = Expense
        fields = ["id", "amount", "comment", "spent_at", "created_by", "created_at", "updated_at"]
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]

    def get_created_by(self, obj: Expense) -> str | None:
        """The username of who entered it."""
        return obj.created_by.get_username() if obj.created_by else None

    def validate_spent_at(self, value: datetime) -> datetime:
        if not moscow_midnight(FIRST_DATE) <= value < moscow_midnight(LAST_DATE):
            raise serializers.ValidationError(
                _("Must be between %(first)s and %(last)s.")
                % {"first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat()}
            )
        return value


EXPENSE_EXAMPLE = {
    "id": 31,
    "amount": "15000.00",
    "comment": "Аренда места в ТЦ, ноябрь",
    "spent_at": "2026-11-05T14:30:00+03:00",
    "created_by": "anna",
    "created_at": "2026-11-05T14:31:12+03:00",
    "updated_at": "2026-11-05T14:31:12+03:00",
}


class ExpenseFilter(filters.FilterSet):
    date_from = MoscowDayFilter(
        field_name="spent_at",
        lookup_expr="gte",
        help_text="Spent on or after this Moscow calendar day (YYYY-MM-DD)",
    )
    date_to = MoscowDayFilter(
        field_name="spent_at",
        lookup_expr="lt",
        help_text="Spent on or before this Moscow calendar day, included (YYYY-MM-DD)",
    )

    class Meta:
        model = Expense
        fields = ["date_from", "date_to"]
        form = PeriodFilterForm


@extend_schema_view(
    list=extend_schema(
        summary="Expenses",
        description="The owner's expenses, latest first. Owners and admins.",
        parameters=[
            OpenApiParameter(
                "ordering",
                {
                    "type": "string",
                    "enum": ["spent_at", "-spent_at", "amount", "-amount", "id", "-id"],
                },
                description="Sort order; default `-spent_at` (latest first)",
            )
        ],
        responses={200: ExpenseSerializer, 400: FIELD_ERRORS},
        examples=[
            OpenApiExample(
                "page", value=EXPENSE_EXAMPLE, response_only=True, description="one row of a page"
            )
        ],
    ),
    retrieve=extend_schema(
        summary="One expense",
        examples=[OpenApiExample("expense", value=EXPENSE_EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        summary="Record an expense",
        responses={201: ExpenseSerializer, 400: FIELD_ERRORS},
        examples=[
            OpenApiExample(
                "rent",
                value={
                    "amount": "15000.00",
                    "comment": "Аренда места в ТЦ, ноябрь",
                    "spent_at": "2026-11-05T14:30",
                },
                request_only=True,
            ),
            OpenApiExample("created", value=EXPENSE_EXAMPLE, response_only=True),
            OpenApiExample(
                "invalid",
                value={"amount": ["Ensure this value is greater than or equal to 0.01."]},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    ),
    update=extend_schema(
        summary="Replace an expense",
        responses={200: ExpenseSerializer, 400: FIELD_ERRORS},
        examples=[
            OpenApiExample(
                "corrected",
                value={"amount": "14500.00", "comment": "Аренда", "spent_at": "2026-11-05"},
                request_only=True,
            ),
            OpenApiExample("updated", value=EXPENSE_EXAMPLE, response_only=True),
        ],
    ),
    partial_update=extend_schema(
        summary="Change an expense",
        responses={200: ExpenseSerializer, 400: FIELD_ERRORS},
        examples=[
            OpenApiExample("amount only", value={"amount": "14500.00"}, request_only=True),
            OpenApiExample("updated", value=EXPENSE_EXAMPLE, response_only=True),
        ],
    ),
    destroy=extend_schema(summary="Delete an expense"),
)
class ExpenseViewSet(OwnerScopedModelViewSet):
    queryset = Expense.objects.select_related("created_by")
    serializer_class = ExpenseSerializer
    allowed_roles = STAFF_ROLES
    filterset_class = ExpenseFilter
    parser_classes = (JSONParser,)
    ordering_fields = ["spent_at", "amount", "id"]
    ordering = ["-spent_at", "-id"]

    def perform_create(self, serializer: Any) -> None:
        serializer.save(owner=self.owner, created_by=self.request.user)
