"""Pages that are not the shape Vendista usually sends: odd values are skipped and counted, never
a failed import; an answer that is not JSON fails the run with a clear error."""

from __future__ import annotations

import json
from datetime import date

import pytest
import responses

from sandboxes.vendista import generate_account
from tests.vendista.coffee import connect_owner, window
from vendista.client import VendistaRejected
from vendista.models import DeductionState, ImportRun, RunStatus, Terminal, Transaction
from vendista.services import runs

pytestmark = pytest.mark.django_db
API = "https://vendista.invalid:99"
DAY = date(2026, 11, 20)


def sale(tx_id: object, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": tx_id,
        "term_id": 145912,
        "sum": 20000,
        "time": "2026-11-20T09:35:47.449",
        "result": 1,
        "reverse_id": 0,
        "status": 0,
        "terminal_comment": "БЦ",
        "card_number": "220220******1234",
        "machine_item": [{"machine_item_id": 3}],
    }
    row.update(fields)
    return row


@pytest.fixture
def owner(vendista_settings):
    vendista_settings.VENDISTA_API_URL = API
    owner = connect_owner(generate_account("odd", "odd-pw", seed="odd", days=1, end=DAY))
    Terminal.objects.create(owner=owner, vendista_id=145912, name="БЦ")
    return owner


def serve(items: object, **meta: object) -> None:
    responses.get(f"{API}/token", json={"token": "tok"})
    body = {"items": items, "page_number": 1, "items_count": 5, "items_per_page": 1000, **meta}
    responses.get(f"{API}/transactions", body=json.dumps(body, ensure_ascii=False))


@responses.activate
def test_odd_values_are_skipped_and_counted_and_the_rest_is_stored(owner) -> None:
    serve(
        [
            sale(2175711248),
            sale("not-a-number"),
            sale(2175711249, time="yesterday"),
            sale(2175711250, result="ok", sum="12.5", bonus="n/a"),
            sale(2175711251, time="2026-11-20 10:00:00", machine_item=[]),
            "not an object",
        ],
        items_count=6,
    )

    summary = runs.run_now(owner.pk, window=window(DAY, DAY), trigger="test")

    assert summary.status == RunStatus.SUCCEEDED
    run = ImportRun.objects.get(pk=summary.run_id)
    assert (run.fetched, run.invalid, run.inserted) == (6, 3, 3)
    stored = {row.id: row for row in Transaction.objects.filter(owner=owner)}
    assert set(stored) == {2175711248, 2175711250, 2175711251}
    odd = stored[2175711250]
    assert (odd.result, odd.amount, odd.deduction_state) == ("ok", 13, DeductionState.NOT_A_SALE)
    assert stored[2175711251].deduction_state == DeductionState.NO_ITEM
    assert stored[2175711248].time.isoformat() == "2026-11-20T06:35:47.449000+00:00"


@responses.activate
def test_an_answer_that_is_not_json_fails_the_run_clearly(owner) -> None:
    responses.get(f"{API}/token", json={"token": "tok"})
    responses.get(f"{API}/transactions", body="<html>502 Bad Gateway</html>", status=200)

    with pytest.raises(VendistaRejected):
        runs.run_now(owner.pk, window=window(DAY, DAY), trigger="test")

    run = ImportRun.objects.filter(owner=owner).latest("id")
    assert run.status == RunStatus.FAILED and "malformed JSON" in run.error
    assert not Transaction.objects.exists()


@responses.activate
def test_offsets_in_times_are_honoured_and_naive_times_are_moscow(owner) -> None:
    serve([sale(1, time="2026-11-20T09:00:00+00:00"), sale(2, time="2026-11-20T09:00:00")])
    runs.run_now(owner.pk, window=window(DAY, DAY), trigger="test")
    times = dict(Transaction.objects.values_list("id", "time"))
    assert times[1].isoformat() == "2026-11-20T09:00:00+00:00"
    assert times[2].isoformat() == "2026-11-20T06:00:00+00:00"
