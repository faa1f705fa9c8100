"""DRF building blocks shared by the APIs: money in rubles, Moscow date-times, a validated
period of Moscow days, column bounds, the documented shape of a 400, and a JSON-only
content negotiation."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation

from core.clock import MOSCOW, Period, moscow_today

# Dates outside these bounds are typing errors (and far ones overflow date arithmetic).
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2100, 12, 31)
MAX_PERIOD_DAYS = 366
BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1


# Every endpoint that validates input documents its 400: `{"field": ["message", ...]}`.
FIELD_ERRORS = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Invalid input: field name → list of messages"
)


def kopecks_to_rubles(kopecks: int) -> str:
    return f"{Decimal(kopecks) / 100:.2f}"


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": r"^-?\d+\.\d{2}$", "example": "150.00"}
)
class KopecksAsRublesField(serializers.Field):
    """A kopecks column shown as rubles: a decimal string with two places."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: int) -> str:
        return kopecks_to_rubles(value)


class MoscowDateTimeField(serializers.DateTimeField):
    """ISO 8601; without an offset it is Moscow local time (a date alone: its midnight)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", MOSCOW)
        super().__init__(**kwargs)

    def enforce_timezone(self, value: datetime) -> datetime:
        try:
            return super().enforce_timezone(value)
        except OverflowError:  # DRF's own check of a far date overflows (year 1 in Moscow)
            self.fail("overflow")


def _check_date_bounds(value: date) -> None:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise serializers.ValidationError(
            _("Must be between %(first)s and %(last)s.")
            % {"first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat()}
        )


class PeriodQuerySerializer(serializers.Serializer[Any]):
    """`date_from`/`date_to` (Moscow days, both included) → a `Period`. Neither: the current
    Moscow month; one of them: the rest of its month. Give it `query_params.dict()`: a plain
    dict, so that an empty parameter is an error rather than "not sent"."""

    date_from = serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        validators=[_check_date_bounds],
        help_text="First day (Moscow), YYYY-MM-DD; default: the 1st of the month",
    )
    date_to = serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        validators=[_check_date_bounds],
        help_text="Last day included (Moscow), YYYY-MM-DD; default: the month's last day",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        first, last = attrs.get("date_from"), attrs.get("date_to")
        if first is None and last is None:
            period = Period.month_of(moscow_today())
        elif last is None:
            assert first is not None
            period = Period(first, Period.month_of(first).last)
        elif first is None:
            period = Period(Period.month_of(last).first, last)
        else:
            period = Period(first, last)
        if period.first > period.last:
            raise serializers.ValidationError({"date_to": [_("Must not be before date_from.")]})
        if period.days > MAX_PERIOD_DAYS:
            raise serializers.ValidationError(
                {
                    "date_to": [
                        _("The period may span at most %(days)d days.") % {"days": MAX_PERIOD_DAYS}
                    ]
                }
            )
        return {"period": period}


PERIOD_PARAMETERS = [
    OpenApiParameter(
        "date_from",
        OpenApiTypes.DATE,
        description="First day of the period (Moscow calendar day, YYYY-MM-DD). Default: the "
        "first day of `date_to`'s month, or of the current month.",
    ),
    OpenApiParameter(
        "date_to",
        OpenApiTypes.DATE,
        description="Last day of the period, included (Moscow). Default: the last day of "
        f"`date_from`'s month, or of the current month. At most {MAX_PERIOD_DAYS} days.",
    ),
]


# A canonical UUID in a URL (either case): 36 characters of hex and dashes in the wrong places
# would reach uuid.UUID() and fail there.
UUID_PK = r"(?P<pk>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """For APIs that answer JSON and nothing else (the kiosk's): the body's parser is chosen as
    usual, but no Accept header is parsed to pick the renderer — DRF's negotiation cost a hot
    endpoint more than its own work."""

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        renderer = renderers[0]
        return renderer, renderer.media_type
