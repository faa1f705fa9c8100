"""django-filter pieces shared by the APIs' FilterSets: strict parameters (a bad date, number or
boolean, or one sent empty, is a 400 naming it; never a 500 or a silently ignored filter)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core.api import FIRST_DATE, LAST_DATE
from core.clock import moscow_midnight


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 moment, handed to the database in UTC: offsets PostgreSQL cannot take
    (beyond ±15:59) and moments beyond years 1–9999 become a 400, not a database error."""

    def to_python(self, value: Any) -> datetime | None:
        moment: datetime | None = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError(_("Out of range."), code="invalid") from None


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


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
            return qs.filter(**{f"{self.field_name}__gte": moscow_midnight(value)})
        return qs.filter(**{f"{self.field_name}__lt": moscow_midnight(value + timedelta(days=1))})


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
