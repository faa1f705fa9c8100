"""Pieces shared by the Vendista staff API: a tenant-scoped APIView, money in rubles, and
query parameters that are validated (bad dates, ranges and numbers answer 400, never 500)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from tenancy.models import Membership, Owner, Role
from tenancy.permissions import ActsForOwner
from vendista.client import MOSCOW
from vendista.finance import Period, moscow_today

STAFF_ROLES = (Role.OWNER, Role.ADMIN)

# Dates outside these bounds are typing errors (and far ones overflow date arithmetic).
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2100, 12, 31)
MAX_PERIOD_DAYS = 366
BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1


class OwnerAPIView(APIView):
    """An APIView acting for the request's owner (ActsForOwner), for owners and admins.
    Bodies are JSON only (form encodings would read an empty field as "not sent")."""

    permission_classes = (IsAuthenticated, ActsForOwner)
    parser_classes = (JSONParser,)
    allowed_roles: ClassVar[tuple[str, ...]] = STAFF_ROLES

    @property
    def membership(self) -> Membership:
        membership: Membership = self.request.membership  # type: ignore[attr-defined]
        return membership

    @property
    def owner(self) -> Owner:
        return self.membership.owner


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


def day_start(day: date) -> datetime:
    """Moscow midnight at the start of `day`."""
    return datetime.combine(day, time.min, MOSCOW)


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


# --- django-filter pieces ------------------------------------------------------------------


class BoundedDateField(forms.DateField):
    """An ISO date within FIRST_DATE..LAST_DATE."""

    input_formats = ["%Y-%m-%d"]

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and not FIRST_DATE <= value <= LAST_DATE:
            raise forms.ValidationError(
                _("Must be between %(first)s and %(last)s.")
                % {"first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat()},
                code="out_of_range",
            )


class MoscowDayFilter(filters.DateFilter):
    """A Moscow calendar day bounding `field_name` (a datetime): `lookup_expr` `gte` takes the
    day's start, `lt` the next day's start (so `date_to` includes its whole day)."""

    field_class = BoundedDateField

    def filter(self, qs: QuerySet[Any], value: date | None) -> QuerySet[Any]:
        if value is None:
            return qs
        if self.lookup_expr == "gte":
            return qs.filter(**{f"{self.field_name}__gte": day_start(value)})
        return qs.filter(**{f"{self.field_name}__lt": day_start(value + timedelta(days=1))})


class StrictBooleanField(forms.Field):
    """`true`/`false` (or `1`/`0`); anything else is a field error, not silently ignored."""

    values: ClassVar[dict[str, bool]] = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        try:
            return self.values[str(value).strip().lower()]
        except KeyError:
            raise forms.ValidationError(
                _("Must be true or false."), code="invalid_boolean"
            ) from None


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(filters.Filter):
    # Not django-filter's BooleanFilter: its widget turns anything unknown into "no filter".
    field_class = StrictBooleanField


@extend_schema_field(OpenApiTypes.INT64)
class IntegerFilter(filters.NumberFilter):
    """A whole number within a column's range (`min_value`/`max_value` go to the form field)."""

    field_class = forms.IntegerField


class PeriodFilterForm(forms.Form):
    """Filter parameters checked strictly: a parameter sent empty (`?date_from=`) is an error,
    not "no filter", and `date_to` may not come before `date_from`."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in self.fields:
            if name in self.data and self.data.get(name) == "" and name not in self.errors:
                self.add_error(name, _("Must not be empty; leave the parameter out instead."))
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and first > last:
            self.add_error("date_to", _("Must not be before date_from."))
        return data
