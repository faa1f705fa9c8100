"""The Vendista client at the HTTP boundary (`responses`): status codes become distinct
exceptions, retries are bounded, paging is read back from the answers."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import requests
import responses

from core.clock import MOSCOW
from vendista.client import (
    Pager,
    VendistaClient,
    VendistaInvalidCredentials,
    VendistaPaymentRequired,
    VendistaRejected,
    VendistaUnauthorized,
    VendistaUnavailable,
    split_page,
)

BASE = "https://vendista.test:99"
FROM = datetime(2026, 11, 20, tzinfo=MOSCOW)
TO = datetime(2026, 11, 20, 23, 59, 59, tzinfo=MOSCOW)


class NoLimit:
    def acquire(self, buckets: object, cost: float = 1.0, *, timeout: float | None = None) -> float:
        return 0.0


def client(**options: object) -> VendistaClient:
    sleeps: list[float] = []
    made = VendistaClient(
        base_url=BASE,
        token="tok-1",
        limiter=NoLimit(),  # type: ignore[arg-type]
        max_attempts=3,
        backoff_base=0.5,
        sleep=sleeps.append,
        **options,  # type: ignore[arg-type]
    )
    made.sleeps = sleeps  # type: ignore[attr-defined]
    return made


@responses.activate
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, VendistaRejected),
        (401, VendistaUnauthorized),
        (404, VendistaUnauthorized),
        (402, VendistaPaymentRequired),
        (418, VendistaRejected),
    ],
)
def test_status_codes_become_distinct_exceptions(status: int, error: type[Exception]) -> None:
    responses.get(f"{BASE}/terminals", status=status, json={"error": "nope"})
    with pytest.raises(error):
        client().get_terminals()
    assert len(responses.calls) == 1  # refused once, not retried


@responses.activate
def test_5xx_is_retried_with_backoff_a_bounded_number_of_times() -> None:
    responses.get(f"{BASE}/terminals", status=503)
    vendista = client()
    with pytest.raises(VendistaUnavailable):
        vendista.get_terminals()
    assert len(responses.calls) == 3
    first, second = vendista.sleeps  # type: ignore[attr-defined]
    assert 0.5 <= first <= 0.75 and 1.0 <= second <= 1.5


@responses.activate
def test_timeouts_are_transient_and_retried() -> None:
    responses.get(f"{BASE}/terminals", body=requests.Timeout("slow"))
    responses.get(f"{BASE}/terminals", json={"items": []})
    assert client().get_terminals() == []
    assert len(responses.calls) == 2


@responses.activate
def test_429_waits_at_least_retry_after() -> None:
    responses.get(f"{BASE}/terminals", status=429, headers={"Retry-After": "7"})
    responses.get(f"{BASE}/terminals", json={"items": []})
    vendista = client()
    vendista.get_terminals()
    assert vendista.sleeps == [7.0]  # type: ignore[attr-defined]


@responses.activate
def test_401_refreshes_once_and_retries_with_the_new_token_in_the_query_only() -> None:
    responses.get(f"{BASE}/terminals", status=401)
    responses.get(f"{BASE}/token", json={"token": "tok-2"})
    responses.get(f"{BASE}/terminals", json={"items": [{"id": 7, "comment": "A"}]})
    vendista = client(credentials=("login", "secret"))

    terminals = vendista.get_terminals()

    assert [t.id for t in terminals] == [7]
    first, token, retry = (call.request for call in responses.calls)
    assert "token=tok-1" in str(first.url) and "token=tok-2" in str(retry.url)
    assert "login=login" in str(token.url) and "token=" not in str(token.url)
    assert all("Authorization" not in r.headers for r in (first, token, retry))
    assert vendista.token == "tok-2"


@responses.activate
def test_token_call_outcomes_are_kept_apart() -> None:
    responses.get(f"{BASE}/token", status=404)
    with pytest.raises(VendistaInvalidCredentials):
        client().get_token("login", "wrong")
    responses.replace(responses.GET, f"{BASE}/token", status=402)
    with pytest.raises(VendistaPaymentRequired):
        client().get_token("login", "secret")
    responses.replace(responses.GET, f"{BASE}/token", json={"success": False, "error": "bad"})
    with pytest.raises(VendistaInvalidCredentials, match="bad"):
        client().get_token("login", "secret")


@responses.activate
def test_transactions_request_names_the_window_in_moscow_time() -> None:
    responses.get(f"{BASE}/transactions", json={"items": [], "items_count": 0})
    client(page_size=500).get_transactions_page(FROM, TO, 3)
    url = str(responses.calls[0].request.url)
    assert "DateFrom=2026-11-20T00%3A00%3A00" in url
    assert "DateTo=2026-11-20T23%3A59%3A59" in url
    assert "PageNumber=3" in url and "ItemsOnPage=500" in url


def test_split_page_keeps_the_items_text_and_reads_the_paging() -> None:
    body = (
        '{"items": [{"id": 1, "term_id": 5}], "page_number": 2, "items_count": 1001, '
        '"items_per_page": 1000, "success": true}'
    )
    page = split_page(body)
    assert json.loads(page.items_text) == [{"id": 1, "term_id": 5}]
    assert (page.items, page.page_number, page.items_count, page.items_per_page) == (
        1,
        2,
        1001,
        1000,
    )
    other_order = split_page('{"page_number": 1, "items": [{"id": 9}]}')
    assert json.loads(other_order.items_text) == [{"id": 9}] and other_order.items == 1
    assert split_page('{"items": null}').items_text == "[]"
    with pytest.raises(VendistaRejected):
        split_page("<html>502 Bad Gateway</html>")


def test_pager_reads_the_page_count_back_and_stops_on_short_or_empty_pages() -> None:
    pager = Pager(1000)
    # The server applied 100 per page, not the 1000 asked for: 250 items are three pages.
    assert pager.advance(items=100, items_count=250, items_per_page=100, page_number=1)
    assert pager.expects(3) and not pager.expects(4)
    assert pager.advance(items=100, items_count=250, items_per_page=100, page_number=2)
    assert not pager.advance(items=50, items_count=250, items_per_page=100, page_number=3)

    no_meta = Pager(1000)
    assert no_meta.advance(items=1000, items_count=0, items_per_page=0, page_number=0)
    assert not no_meta.advance(items=999, items_count=0, items_per_page=0, page_number=0)
    assert not Pager(1000).advance(items=0, items_count=5, items_per_page=1000, page_number=1)
