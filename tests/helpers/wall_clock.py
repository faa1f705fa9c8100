"""Tests whose outcome could depend on when they run carry `@pytest.mark.wall_clock`: they run
at the real time and again at each instant of `INSTANTS` (Moscow time), where time-machine has
moved the clock.

    pytest -m wall_clock                                  # each marked test: now + every instant
    pytest -m wall_clock --at=2026-12-31T00:30+03:00      # only there (repeat --at for more)
    pytest --at=now                                       # the whole suite at the real time only

The instants are the hours that broke tests before: just after Moscow midnight (the day has no
sales yet and UTC is still on the previous day), just before the sandbox's first sales at 07:00,
a month's last minute and a month's first half hour. The clock keeps running from the instant
(`tick=True`) for this whole process: the in-process Celery worker thread, the local sandbox
servers and every helper thread see the moved clock. Not moved: `time.monotonic()`, PostgreSQL's
`now()`, Redis `TIME` and worker subprocesses (`tests/helpers/worker.py`), so a marked test
must not start a worker process. The default instants lie in the past, so a row stamped by
PostgreSQL never looks older than one stamped in Python (an import run's heartbeat, for one);
an instant given with `--at` may be anywhere.

A parametrized id names the instant: `test_x[2026-11-30T23:59+03:00]`, `test_x[now]`. Every
instant adds one run of each marked test (a few seconds in all: keep expensive tests unmarked
and make them independent of the clock by construction).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import time_machine

from core.clock import MOSCOW

NOW = "now"
INSTANTS = (
    "2026-11-01T00:30+03:00",  # Sunday, the month's first half hour; UTC still says October 31
    "2026-11-23T06:59+03:00",  # Monday, a minute before the day's first sandbox sale
    "2026-11-30T23:59+03:00",  # the month's last minute (and the 23:59 task clean-up)
)


def parse_instant(text: str) -> datetime | None:
    """`now` (the real clock) or an ISO date-time; one without an offset is Moscow time."""
    if text == NOW:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=MOSCOW)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--at",
        action="append",
        default=None,
        metavar="INSTANT",
        help="run the wall_clock tests at this instant only (ISO, Moscow time unless an offset "
        f"is given, or '{NOW}'); repeatable. Default: now and {', '.join(INSTANTS)}",
    )


def pytest_configure(config: pytest.Config) -> None:
    for text in config.getoption("at") or ():
        try:
            parse_instant(text)
        except ValueError as exc:
            raise pytest.UsageError(f"--at {text!r}: not an ISO date-time ({exc})") from exc


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("wall_clock") is None:
        return
    instants = metafunc.config.getoption("at") or [NOW, *INSTANTS]
    metafunc.parametrize("wall_clock", instants, indirect=True, ids=instants)


@pytest.fixture(autouse=True)
def wall_clock(request: pytest.FixtureRequest) -> Iterator[datetime | None]:
    """The instant a `wall_clock` test runs at, with the clock moved there (None: real time).

    Autouse, so that it is set up before the test's other function fixtures (which may well
    generate "today's" data); a no-op for unmarked tests.
    """
    instant = parse_instant(getattr(request, "param", NOW))
    if instant is None:
        yield None
        return
    with time_machine.travel(instant, tick=True):
        yield instant
