"""`GET /api/transactions/`: the owner's imported Vendista transactions, filtered and paged."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers

from core.api import BIGINT_MAX, FIELD_ERRORS, INT_MAX, KopecksAsRublesField
from core.filters import IntegerFilter, MoscowDayFilter, PeriodFilterForm, StrictBooleanFilter
from tenancy.permissions import STAFF_ROLES
from tenancy.views import OwnerScopedReadOnlyViewSet
from vendista.finance import SALE
from vendista.models import DeductionState, Terminal, Transaction

MAX_RUBLES = Decimal(10**10)
MAX_RUBLES_FLOAT = float(MAX_RUBLES)


class TransactionSerializer(serializers.ModelSerializer[Transaction]):
    terminal_id = serializers.SerializerMethodField()
    terminal_name = serializers.SerializerMethodField()
    amount = KopecksAsRublesField(help_text="rubles")
    is_sale = serializers.BooleanField(
        read_only=True, help_text="result = 1 and not reversed (free drinks included)"
    )

    class Meta:
        model = Transaction
        fields = [
            "id",
            "time",
            "terminal_id",
            "terminal_name",
            "vendista_terminal_id",
            "machine_item_id",
            "amount",
            "is_sale",
            "result",
            "reverse_id",
            "status",
            "card_number",
            "deduction_state",
            "deducted_at",
            "restored_at",
            "first_seen_at",
            "last_updated_at",
        ]
        read_only_fields = fields

    @staticmethod
    def _terminal(obj: Transaction) -> Terminal | None:
        # The reference is not checked by the database (db_constraint=False): a terminal is
        # shown only when it belongs to the transaction's own owner.
        terminal = obj.terminal
        return terminal if terminal is not None and terminal.owner_id == obj.owner_id else None

    def get_terminal_id(self, obj: Transaction) -> int | None:
        """Our terminal id (null while the terminal is unknown)."""
        terminal = self._terminal(obj)
        return terminal.pk if terminal else None

    def get_terminal_name(self, obj: Transaction) -> str:
        """Our terminal's current name, or the name Vendista gave at the time of the sale."""
        terminal = self._terminal(obj)
        return (terminal.name if terminal else "") or obj.terminal_comment


TRANSACTION_EXAMPLE = {
    "id": 9100000123,
    "time": "2026-11-20T08:15:02+03:00",
    "terminal_id": 7,
    "terminal_name": "ТЦ Галерея, 2 этаж",
    "vendista_terminal_id": 120045,
    "machine_item_id": 3,
    "amount": "150.00",
    "is_sale": True,
    "result": "1",
    "reverse_id": 0,
    "status": "0",
    "card_number": "220220******1234",
    "deduction_state": "deducted",
    "deducted_at": "2026-11-20T08:30:11+03:00",
    "restored_at": None,
    "first_seen_at": "2026-11-20T08:30:11+03:00",
    "last_updated_at": "2026-11-20T08:30:11+03:00",
}


class TransactionFilter(filters.FilterSet):
    date_from = MoscowDayFilter(
        field_name="time",
        lookup_expr="gte",
        help_text="On or after this Moscow calendar day (YYYY-MM-DD)",
    )
    date_to = MoscowDayFilter(
        field_name="time",
        lookup_expr="lt",
        help_text="On or before this Moscow calendar day, included (YYYY-MM-DD)",
    )
    terminal = IntegerFilter(
        field_name="terminal_id",
        min_value=1,
        max_value=BIGINT_MAX,
        help_text="Our terminal id (see /api/terminals/)",
    )
    machine_item_id = IntegerFilter(min_value=-INT_MAX, max_value=INT_MAX)
    deduction_state = filters.ChoiceFilter(choices=DeductionState.choices)
    is_sale = StrictBooleanFilter(
        method="filter_is_sale", help_text="true: sales only; false: everything else"
    )
    amount_min = filters.NumberFilter(
        method="filter_amount_min",
        min_value=-MAX_RUBLES,
        max_value=MAX_RUBLES,
        max_digits=13,
        decimal_places=2,
        help_text="At least this many rubles",
    )
    amount_max = filters.NumberFilter(
        method="filter_amount_max",
        min_value=-MAX_RUBLES,
        max_value=MAX_RUBLES,
        max_digits=13,
        decimal_places=2,
        help_text="At most this many rubles",
    )

    class Meta:
        model = Transaction
        fields = [
            "date_from",
            "date_to",
            "terminal",
            "machine_item_id",
            "deduction_state",
            "is_sale",
            "amount_min",
            "amount_max",
        ]
        form = PeriodFilterForm

    def filter_is_sale(
        self, queryset: QuerySet[Transaction], name: str, value: bool | None
    ) -> QuerySet[Transaction]:
        if value is None:
            return queryset
        return queryset.filter(SALE) if value else queryset.exclude(SALE)

    def filter_amount_min(
        self, queryset: QuerySet[Transaction], name: str, value: Decimal | None
    ) -> QuerySet[Transaction]:
        return queryset if value is None else queryset.filter(amount__gte=_kopecks(value))

    def filter_amount_max(
        self, queryset: QuerySet[Transaction], name: str, value: Decimal | None
    ) -> QuerySet[Transaction]:
        return queryset if value is None else queryset.filter(amount__lte=_kopecks(value))


def _kopecks(rubles: Decimal) -> int:
    return int(rubles * 100)


@extend_schema_view(
    list=extend_schema(
        summary="Transactions",
        description="The owner's imported Vendista transactions, newest first. Owners and "
        "admins. `amount` is in rubles. A sale is `result = 1` and `reverse_id = 0`.",
        parameters=[
            OpenApiParameter(
                "terminal",
                {"type": "integer", "format": "int64", "minimum": 1, "maximum": BIGINT_MAX},
                description="Our terminal id (see /api/terminals/)",
            ),
            OpenApiParameter(
                "machine_item_id",
                {"type": "integer", "minimum": -INT_MAX, "maximum": INT_MAX},
                description="Vendista's machine item (drink button) id",
            ),
            OpenApiParameter(
                "is_sale", OpenApiTypes.BOOL, description="true: sales only; false: the rest"
            ),
            OpenApiParameter(
                "amount_min",
                {"type": "number", "minimum": -MAX_RUBLES_FLOAT, "maximum": MAX_RUBLES_FLOAT},
                description="At least this many rubles (two decimal places at most)",
            ),
            OpenApiParameter(
                "amount_max",
                {"type": "number", "minimum": -MAX_RUBLES_FLOAT, "maximum": MAX_RUBLES_FLOAT},
                description="At most this many rubles (two decimal places at most)",
            ),
            OpenApiParameter(
                "ordering",
                {"type": "string", "enum": ["time", "-time", "amount", "-amount", "id", "-id"]},
                description="Sort order; default `-time` (newest first)",
            ),
        ],
        responses={200: TransactionSerializer, 400: FIELD_ERRORS},
        examples=[
            OpenApiExample(
                "page",
                value=TRANSACTION_EXAMPLE,
                response_only=True,
                description="one row of a page",
            )
        ],
    ),
    retrieve=extend_schema(
        summary="One transaction",
        examples=[OpenApiExample("sale", value=TRANSACTION_EXAMPLE, response_only=True)],
    ),
)
class TransactionViewSet(OwnerScopedReadOnlyViewSet):
    queryset = Transaction.objects.select_related("terminal")
    serializer_class = TransactionSerializer
    allowed_roles = STAFF_ROLES
    filterset_class = TransactionFilter
    ordering_fields = ["time", "amount", "id"]
    ordering = ["-time", "-id"]
