"""Finance figures for a period of Moscow days: the summary, sales per terminal and per
drink. Owners and admins; the work is in `vendista.finance`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import FIELD_ERRORS, PERIOD_PARAMETERS, PeriodQuerySerializer
from tenancy.views import OwnerAPIView
from vendista import finance
from vendista.models import TaxSystem

ERROR_EXAMPLE = OpenApiExample(
    "bad period",
    value={"date_to": ["Must not be before date_from."]},
    response_only=True,
    status_codes=["400"],
)


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, **kwargs)


class FinanceSummarySerializer(serializers.Serializer[Any]):
    date_from = serializers.DateField(source="period.first")
    date_to = serializers.DateField(source="period.last")
    sales_count = serializers.IntegerField()
    revenue = _money(help_text="Σ amount of the sales, rubles")
    acquiring_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    acquiring = _money(help_text="revenue × acquiring % / 100, rounded to kopecks")
    revenue_after_acquiring = _money()
    expenses = _money(help_text="Σ expenses spent in the period")
    tax_system = serializers.ChoiceField(choices=TaxSystem.choices)
    tax_rate_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    tax_base = _money(
        help_text="income_6: revenue after acquiring; income_expense_15: that minus expenses, "
        "at least 0; none: 0"
    )
    tax = _money()
    net_profit = _money(help_text="revenue after acquiring − expenses − tax")


SUMMARY_EXAMPLE = {
    "date_from": "2026-11-01",
    "date_to": "2026-11-30",
    "sales_count": 1523,
    "revenue": "228450.00",
    "acquiring_percent": "1.60",
    "acquiring": "3655.20",
    "revenue_after_acquiring": "224794.80",
    "expenses": "61000.00",
    "tax_system": "income_expense_15",
    "tax_rate_percent": "15.00",
    "tax_base": "163794.80",
    "tax": "24569.22",
    "net_profit": "139225.58",
}


class FinanceSummaryView(OwnerAPIView):
    """`GET /api/finance/summary/`: revenue, sales, acquiring, tax, expenses and net profit."""

    @extend_schema(
        summary="Finance summary of a period",
        description="Sales are transactions with `result = 1` and `reverse_id = 0` (free drinks "
        "included); periods are Moscow calendar days, the current month by default. Acquiring "
        "and the tax system come from the Vendista connection's settings. Money in rubles.",
        parameters=PERIOD_PARAMETERS,
        responses={200: FinanceSummarySerializer, 400: FIELD_ERRORS},
        examples=[
            OpenApiExample("month", value=SUMMARY_EXAMPLE, response_only=True),
            ERROR_EXAMPLE,
        ],
    )
    def get(self, request: Request) -> Response:
        query = PeriodQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        result = finance.summary(self.owner.pk, query.validated_data["period"])
        return Response(FinanceSummarySerializer(result).data)


class TerminalSalesSerializer(serializers.Serializer[Any]):
    terminal_id = serializers.IntegerField()
    vendista_terminal_id = serializers.IntegerField()
    name = serializers.CharField()
    sales_count = serializers.IntegerField()
    revenue = _money()


class TerminalStatsSerializer(serializers.Serializer[Any]):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    terminals = TerminalSalesSerializer(many=True)


class TerminalStatsView(OwnerAPIView):
    """`GET /api/finance/terminals/`: sales count and revenue of each active terminal."""

    @extend_schema(
        summary="Sales per terminal",
        description="Every active terminal of the owner (by name), with its sales count and "
        "revenue (rubles) in the period; zero when it sold nothing.",
        parameters=PERIOD_PARAMETERS,
        responses={200: TerminalStatsSerializer, 400: FIELD_ERRORS},
        examples=[
            OpenApiExample(
                "two terminals",
                value={
                    "date_from": "2026-11-01",
                    "date_to": "2026-11-30",
                    "terminals": [
                        {
                            "terminal_id": 7,
                            "vendista_terminal_id": 120045,
                            "name": "ТЦ Галерея, 2 этаж",
                            "sales_count": 912,
                            "revenue": "136800.00",
                        },
                        {
                            "terminal_id": 8,
                            "vendista_terminal_id": 120046,
                            "name": "Бизнес-центр Нева",
                            "sales_count": 0,
                            "revenue": "0.00",
                        },
                    ],
                },
                response_only=True,
            ),
            ERROR_EXAMPLE,
        ],
    )
    def get(self, request: Request) -> Response:
        query = PeriodQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        period = query.validated_data["period"]
        data = {
            "date_from": period.first,
            "date_to": period.last,
            "terminals": finance.terminal_stats(self.owner.pk, period),
        }
        return Response(TerminalStatsSerializer(data).data)


class DrinkOnTerminalSerializer(serializers.Serializer[Any]):
    terminal_id = serializers.IntegerField()
    terminal_name = serializers.CharField()
    recipe_name = serializers.CharField(allow_null=True)
    sales_count = serializers.IntegerField()


class DrinkSalesSerializer(serializers.Serializer[Any]):
    machine_item_id = serializers.IntegerField()
    display_name = serializers.CharField(
        help_text="the recipe name; 'mixed names' when terminals name the drink differently"
    )
    total_count = serializers.IntegerField()
    terminals = DrinkOnTerminalSerializer(many=True)


class DrinkStatsSerializer(serializers.Serializer[Any]):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    drinks = DrinkSalesSerializer(many=True)


class DrinkStatsView(OwnerAPIView):
    """`GET /api/finance/drinks/`: sales per machine item, with each terminal's share."""

    @extend_schema(
        summary="Sales per drink",
        description="Sales per machine item (drink button) in the period, most sold first, "
        "each with its count per terminal and that terminal's recipe name.",
        parameters=PERIOD_PARAMETERS,
        responses={200: DrinkStatsSerializer, 400: FIELD_ERRORS},
        examples=[
            OpenApiExample(
                "one drink on two terminals",
                value={
                    "date_from": "2026-11-01",
                    "date_to": "2026-11-30",
                    "drinks": [
                        {
                            "machine_item_id": 3,
                            "display_name": "Смешанные названия",
                            "total_count": 420,
                            "terminals": [
                                {
                                    "terminal_id": 7,
                                    "terminal_name": "ТЦ Галерея, 2 этаж",
                                    "recipe_name": "Капучино",
                                    "sales_count": 300,
                                },
                                {
                                    "terminal_id": 8,
                                    "terminal_name": "Бизнес-центр Нева",
                                    "recipe_name": "Капучино 250",
                                    "sales_count": 120,
                                },
                            ],
                        }
                    ],
                },
                response_only=True,
            ),
            ERROR_EXAMPLE,
        ],
    )
    def get(self, request: Request) -> Response:
        query = PeriodQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        period = query.validated_data["period"]
        data = {
            "date_from": period.first,
            "date_to": period.last,
            "drinks": finance.drink_stats(self.owner.pk, period),
        }
        return Response(DrinkStatsSerializer(data).data)
