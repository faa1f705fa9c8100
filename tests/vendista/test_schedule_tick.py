"""The beat tick records one run per owner a batch at a time, with the per-owner
de-duplication of a single run, and queues them behind other work (broker priority 3)."""

from __future__ import annotations

import json

import pytest

from tenancy.models import Owner
from vendista.models import ImportRun, RunKind, RunStatus, VendistaAccount
from vendista.services import runs, schedule

pytestmark = pytest.mark.django_db


def queued(redis_client, key: str) -> list[str]:
    return [json.loads(raw)["headers"]["kwargsrepr"] for raw in redis_client.lrange(key, 0, -1)]


def test_a_tick_queues_one_run_per_owner_without_an_active_one(
    redis_client, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(schedule, "BATCH", 2)  # several batches out of five owners
    owners = [Owner.objects.create(name=f"o{n}") for n in range(5)]
    for owner in owners:
        VendistaAccount.objects.create(owner=owner, token_encrypted="x")
    busy = ImportRun.objects.create(owner=owners[1], kind=RunKind.IMPORT, trigger="admin")
    ids = [owner.pk for owner in owners]

    with django_capture_on_commit_callbacks(execute=True):
        first = schedule.enqueue_for_owners(ids, trigger="schedule_15min")
        again = schedule.enqueue_for_owners(ids, trigger="schedule_15min")
        syncs = schedule.enqueue_for_owners(ids, kind=RunKind.SYNC, trigger="schedule_15min")

    assert again == [] and len(first) == 4 and len(syncs) == 5
    made = ImportRun.objects.filter(pk__in=first)
    assert sorted(made.values_list("owner_id", flat=True)) == sorted(set(ids) - {owners[1].pk})
    window = runs.window_for("last_24h")
    for run in made:
        assert run.status == RunStatus.QUEUED and run.trigger == "schedule_15min"
        assert run.date_to is not None and run.date_from is not None
        assert abs((run.date_to - run.date_from) - (window[1] - window[0])).total_seconds() < 1
    assert ImportRun.objects.filter(pk__in=syncs, date_from__isnull=True).count() == 5
    expected = [f"{{'run_id': {pk}}}" for pk in [*first, *syncs]]
    assert sorted(queued(redis_client, "imports\x06\x163")) == sorted(expected)
    assert busy.pk not in [*first, *syncs]


def test_a_daily_tick_skips_only_an_owner_whose_active_run_covers_its_window(
    django_capture_on_commit_callbacks,
):
    covering, narrow = Owner.objects.create(name="a"), Owner.objects.create(name="b")
    window = runs.window_for("previous_day_and_today")
    for owner in (covering, narrow):
        VendistaAccount.objects.create(owner=owner, token_encrypted="x")
    ImportRun.objects.create(
        owner=covering, kind="import", trigger="admin", date_from=window[0], date_to=window[1]
    )
    ImportRun.objects.create(
        owner=narrow, kind="import", trigger="admin", date_from=window[1], date_to=window[1]
    )
    with django_capture_on_commit_callbacks(execute=True):
        made = schedule.enqueue_for_owners(
            [covering.pk, narrow.pk],
            window_kind="previous_day_and_today",
            trigger="schedule_daily",
            skip_if_active=False,
        )
    assert list(ImportRun.objects.filter(pk__in=made).values_list("owner_id", flat=True)) == [
        narrow.pk
    ]
