"""A queued run whose next page would wait on its own token's rate limit yields: it goes back to
the queue after its last committed page (a yield is no attempt) and its task continues it once
the token allows, so a worker never sits idle on one owner's limit while others wait. The
import stays exact: every page read once, every row stored once."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings

from tests.vendista.coffee import configure, connect_owner, sync, window
from tests.vendista.conftest import LAST_DAY
from vendista.models import ImportRun, RunStatus, Transaction
from vendista.services import runs

FIRST_DAY = LAST_DAY - timedelta(days=2)
PAGES = 4  # vendista_settings: 100 rows a page; the shop has 360 rows


@pytest.fixture
def owner(sandbox, shop):
    owner = connect_owner(shop)
    sync(owner)
    configure(owner)
    return owner


@pytest.fixture
def token_limited(vendista_settings):
    """Vendista's default per-token limit (1 request/s); the overall one stays generous."""
    vendista_settings.VENDISTA_RATE_PER_TOKEN = 1.0
    return vendista_settings


@pytest.mark.django_db
def test_a_run_waiting_on_its_token_yields_after_each_page_and_ends_exact(
    sandbox, shop, owner, token_limited
):
    run = runs.create_run(owner.pk, window=window(FIRST_DAY, LAST_DAY), trigger="test")
    assert run is not None
    sandbox.reset_request_log()
    yields = 0
    while True:
        try:
            summary = runs.execute_run(run.pk, may_yield=True)
            break
        except runs.RunYielded as yielded:
            yields += 1
            run.refresh_from_db()
            # Back in the queue after its committed pages, the attempt not counted.
            assert run.status == RunStatus.QUEUED
            assert run.pages_done == yields and run.next_page == yields + 1
            assert run.attempts == 0 and run.yields == yields
            assert 0 < yielded.wait <= 1.0
            time.sleep(yielded.wait)  # what the task's countdown does

    assert yields == PAGES - 1  # every page but the last waited for its token
    assert summary.status == RunStatus.SUCCEEDED
    pages = [int(r.params["PageNumber"]) for r in sandbox.request_log("/transactions")]
    assert pages == list(range(1, PAGES + 1))
    assert Transaction.objects.filter(owner=owner).count() == len(shop.transactions)
    run.refresh_from_db()
    assert run.fetched == run.inserted == len(shop.transactions)
    assert run.pages_done == PAGES and run.attempts == 1 and run.yields == PAGES - 1


@pytest.mark.django_db
def test_an_operator_run_waits_in_place_instead_of_yielding(sandbox, shop, owner, token_limited):
    summary = runs.run_now(owner.pk, window=window(FIRST_DAY, LAST_DAY), trigger="command")

    assert summary.status == RunStatus.SUCCEEDED and summary.pages == PAGES
    assert Transaction.objects.filter(owner=owner).count() == len(shop.transactions)


def yielded_results(run_id: int) -> int:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        found = 0
        for key in client.scan_iter("celery-task-meta-*"):
            meta = json.loads(client.get(key) or b"{}")
            result = meta.get("result")
            if isinstance(result, dict) and result == {"run_id": run_id, "status": "yielded"}:
                found += 1
        return found
    finally:
        client.close()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_continues_a_yielded_run_in_a_new_task(
    celery_worker, sandbox, shop, token_limited
):
    owner = connect_owner(shop)
    sync(owner)
    run_id = runs.enqueue(owner.pk, window=window(FIRST_DAY, LAST_DAY), trigger="test")
    assert run_id is not None
    run = ImportRun.objects.filter(pk=run_id)
    deadline = time.monotonic() + 60
    while run.exclude(status=RunStatus.SUCCEEDED).exists() and time.monotonic() < deadline:
        time.sleep(0.2)

    stored = run.get()
    assert stored.status == RunStatus.SUCCEEDED and stored.pages_done == PAGES
    assert stored.attempts == 1
    assert yielded_results(run_id) == PAGES - 1
    assert Transaction.objects.filter(owner=owner).count() == len(shop.transactions)
    pages = [int(r.params["PageNumber"]) for r in sandbox.request_log("/transactions")]
    assert sorted(pages) == list(range(1, PAGES + 1))


def queued(redis_client, key: str) -> list[int]:
    return [json.loads(raw)["headers"]["kwargsrepr"] for raw in redis_client.lrange(key, 0, -1)]


@pytest.mark.django_db
def test_scheduled_runs_queue_behind_a_persons_run_and_a_yielded_runs_next_page(
    sandbox, owner, redis_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        scheduled = runs.enqueue(owner.pk, window_kind="last_24h", trigger="schedule_15min")
        asked = runs.enqueue(owner.pk, kind="sync", trigger="admin")

    # kombu's Redis transport: priority 0 in the queue's own list (popped first), 3 in "<q>␆␖3".
    assert queued(redis_client, "imports\x06\x163") == [f"{{'run_id': {scheduled}}}"]
    assert queued(redis_client, "imports") == [f"{{'run_id': {asked}}}"]
