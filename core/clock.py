"""Business time: the product keeps Moscow calendar days (reports, tasks, imports, schedules),
whatever the server's own zone or `TIME_ZONE` say.

Plain Python (no settings needed), so the sandboxes can use it too. `datetime.now()` is what
time-machine moves in tests.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")


def moscow_now() -> datetime:
    """Now, as an aware Moscow datetime."""
    return datetime.now(UTC).astimezone(MOSCOW)


def moscow_today() -> date:
    """Today's Moscow calendar day."""
    return moscow_now().date()


def as_moscow(moment: datetime) -> datetime:
    """An aware moment in Moscow time; a naive one is taken as Moscow local time."""
    return moment.astimezone(MOSCOW) if moment.tzinfo else moment.replace(tzinfo=MOSCOW)


def moscow_midnight(day: date) -> datetime:
    """The first instant of the Moscow calendar day `day`."""
    return datetime.combine(day, time.min, MOSCOW)


def start_of_moscow_day(moment: datetime | None = None) -> datetime:
    """Midnight of the Moscow day `moment` (default: now) falls on."""
    return moscow_midnight((moment or moscow_now()).astimezone(MOSCOW).date())


@dataclass(frozen=True)
class Period:
    """Moscow calendar days `first`..`last`, both included."""

    first: date
    last: date

    @classmethod
    def month_of(cls, day: date) -> Period:
        last_day = calendar.monthrange(day.year, day.month)[1]
        return cls(day.replace(day=1), day.replace(day=last_day))

    @property
    def start(self) -> datetime:
        """The first instant of the period (Moscow midnight)."""
        return moscow_midnight(self.first)

    @property
    def end(self) -> datetime:
        """The first instant after the period (the next Moscow midnight, excluded)."""
        return moscow_midnight(self.last + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1
