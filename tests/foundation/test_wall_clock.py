"""The `wall_clock` marker (tests/helpers/wall_clock.py): a marked test runs at the real time and
at each fixed Moscow instant, with the clock of the whole process moved there and running on."""

from __future__ import annotations

import calendar
import threading
import time
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from core.clock import MOSCOW, moscow_now
from tests.helpers.wall_clock import INSTANTS, parse_instant


@pytest.mark.wall_clock
def test_a_marked_test_runs_at_its_instant_in_every_thread(wall_clock: datetime | None) -> None:
    seen: list[datetime] = []
    thread = threading.Thread(target=lambda: seen.append(timezone.now()))
    thread.start()
    thread.join()
    here = timezone.now()

    if wall_clock is None:  # the real clock
        assert abs(here.timestamp() - time.time()) < 1
        return
    assert wall_clock <= seen[0] <= here < wall_clock + timedelta(minutes=5)
    assert timezone.localdate() == wall_clock.astimezone(MOSCOW).date()
    started = time.time()
    time.sleep(0.01)
    assert time.time() > started  # tick=True: the moved clock keeps running


def test_the_instants_cover_the_hours_that_break_date_logic() -> None:
    moments = [parse_instant(text) for text in INSTANTS]
    local = [moment.astimezone(MOSCOW) for moment in moments if moment is not None]
    assert len(local) == len(INSTANTS)
    hours = {(moment.hour, moment.minute) for moment in local}
    assert {(0, 30), (6, 59), (23, 59)} <= hours
    assert any(m.day == calendar.monthrange(m.year, m.month)[1] for m in local), "a month's end"
    assert any(m.day == 1 for m in local), "a month's first day"
    # PostgreSQL's now() is not moved: the instants must not lie ahead of the real clock.
    assert all(moment < moscow_now() for moment in local)
