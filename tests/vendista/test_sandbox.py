"""The Vendista API sandbox speaks the contract of shared/spec/vendista-api.md over real HTTP.

No database: the sandbox is plain Python, served from a thread on a free local port.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import requests
import time_machine

from sandboxes.vendista import (
    DEMO_LOGIN,
    DEMO_PASSWORD,
    MAX_PAGE_SIZE,
    UNPAID_LOGIN,
    UNPAID_PASSWORD,
    SandboxAccount,
    VendistaSandbox,
    generate_account,
    generate_bulk_transactions,
)
from sandboxes.vendista.data import format_time, moscow_now

ROOT = Path(__file__).resolve().parents[2]
LOGIN, PASSWORD = "owner-1", "secret-1"
END = date(2026, 1, 31)
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$")


def make_account(**overrides: Any) -> SandboxAccount:
    params: dict[str, Any] = {"seed": 42, "terminals": 3, "days": 10, "per_day": 60, "end": END}
    params.update(overrides)
    return generate_account(LOGIN, PASSWORD, **params)


@pytest.fixture
def account() -> SandboxAccount:
    return make_account()


@pytest.fixture
def sandbox(account: SandboxAccount) -> Iterator[VendistaSandbox]:
    with VendistaSandbox(accounts=[account]) as running:
        yield running


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def get_token(http: requests.Session, sandbox: VendistaSandbox, login: str = LOGIN) -> str:
    password = sandbox.account(login).password
    response = http.get(f"{sandbox.url}/token", params={"login": login, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def transactions(
    http: requests.Session, sandbox: VendistaSandbox, token: str, **params: Any
) -> requests.Response:
    query = {"token": token, "DateFrom": "2026-01-01T00:00:00", "DateTo": "2026-01-31T23:59:59"}
    query.update(params)
    return http.get(f"{sandbox.url}/transactions", params=query, timeout=10)


# --- /token -----------------------------------------------------------------------------------


def test_token_is_issued_for_lower_and_capitalised_parameter_names(sandbox, http) -> None:
    lower = http.get(f"{sandbox.url}/token", params={"login": LOGIN, "password": PASSWORD})
    upper = http.get(f"{sandbox.url}/token", params={"Login": LOGIN, "Password": PASSWORD})

    assert lower.status_code == upper.status_code == 200
    first, second = lower.json()["token"], upper.json()["token"]
    assert first and second and first != second
    # An older token stays valid after a new one is issued.
    assert transactions(http, sandbox, first).status_code == 200
    assert transactions(http, sandbox, second).status_code == 200


def test_tokens_are_deterministic_per_issue() -> None:
    tokens = []
    for _ in range(2):
        with VendistaSandbox(accounts=[make_account()]) as sandbox, requests.Session() as http:
            tokens.append([get_token(http, sandbox), get_token(http, sandbox)])
    assert tokens[0] == tokens[1]
    assert tokens[0][0] != tokens[0][1]


def test_wrong_credentials_answer_401_or_404_when_switched(sandbox, http) -> None:
    wrong = {"login": LOGIN, "password": "nope"}
    unknown = {"login": "nobody", "password": PASSWORD}

    assert http.get(f"{sandbox.url}/token", params=wrong).status_code == 401
    assert http.get(f"{sandbox.url}/token", params=unknown).status_code == 401

    sandbox.set_faults(not_found_for_bad_credentials=True)
    response = http.get(f"{sandbox.url}/token", params=wrong)
    assert response.status_code == 404
    assert response.json()["success"] is False


def test_unpaid_account_answers_402_on_token_and_on_data_calls(sandbox, http) -> None:
    token = get_token(http, sandbox)
    sandbox.set_unpaid(LOGIN)

    assert (
        http.get(f"{sandbox.url}/token", params={"login": LOGIN, "password": PASSWORD}).status_code
        == 402
    )
    assert transactions(http, sandbox, token).status_code == 402
    assert http.get(f"{sandbox.url}/terminals", params={"token": token}).status_code == 402
    # Wrong credentials stay a 401 even for an unpaid account.
    bad = http.get(f"{sandbox.url}/token", params={"login": LOGIN, "password": "x"})
    assert bad.status_code == 401

    sandbox.set_unpaid(LOGIN, unpaid=False)
    assert transactions(http, sandbox, token).status_code == 200


def test_unpaid_logins_fault_answers_402(sandbox, http) -> None:
    token = get_token(http, sandbox)
    sandbox.set_faults(unpaid_logins=[LOGIN])

    assert transactions(http, sandbox, token).status_code == 402
    creds = {"login": LOGIN, "password": PASSWORD}
    assert http.get(f"{sandbox.url}/token", params=creds).status_code == 402


def test_token_soft_error_is_200_without_token(sandbox, http) -> None:
    sandbox.set_faults(token_soft_error="Аккаунт заблокирован")
    response = http.get(f"{sandbox.url}/token", params={"login": LOGIN, "password": PASSWORD})

    assert response.status_code == 200
    assert "token" not in response.json()
    assert response.json()["error"] == "Аккаунт заблокирован"


@pytest.mark.parametrize("path", ["/transactions", "/terminals", "/coffee_shop"])
def test_unknown_token_answers_401_or_404_when_switched(sandbox, http, path) -> None:
    params = {"token": "tok-forged", "DateFrom": "2026-01-01"}

    assert http.get(f"{sandbox.url}{path}", params=params).status_code == 401
    sandbox.set_faults(not_found_for_bad_token=True)
    assert http.get(f"{sandbox.url}{path}", params=params).status_code == 404


def test_missing_or_malformed_parameters_answer_400(sandbox, http) -> None:
    token = get_token(http, sandbox)
    cases = [
        ("/token", {"login": LOGIN}),
        ("/transactions", {"DateFrom": "2026-01-01"}),
        ("/transactions", {"token": token}),
        ("/transactions", {"token": token, "DateFrom": "yesterday"}),
        ("/transactions", {"token": token, "DateFrom": "2026-01-01", "PageNumber": "0"}),
        ("/transactions", {"token": token, "DateFrom": "2026-01-01", "ItemsOnPage": "many"}),
        ("/terminals", {}),
    ]
    for path, params in cases:
        response = http.get(f"{sandbox.url}{path}", params=params)
        assert response.status_code == 400, (path, params, response.text)
        assert response.json()["success"] is False
        assert response.json()["error"]


# --- /transactions ----------------------------------------------------------------------------


def test_pages_cover_every_transaction_exactly_once_newest_first(sandbox, http, account) -> None:
    token = get_token(http, sandbox)
    first = transactions(http, sandbox, token, PageNumber=1, ItemsOnPage=100).json()
    total = len(account.transactions)
    assert first["items_count"] == total > 300
    assert first["items_per_page"] == 100
    assert first["page_number"] == 1
    assert first["success"] is True

    seen: list[dict[str, Any]] = []
    pages = math.ceil(first["items_count"] / first["items_per_page"])
    for page in range(1, pages + 1):
        body = transactions(http, sandbox, token, PageNumber=page, ItemsOnPage=100).json()
        assert body["page_number"] == page
        assert body["items_count"] == total
        seen.extend(body["items"])

    ids = [item["id"] for item in seen]
    assert len(ids) == len(set(ids)) == total
    assert set(ids) == {row.id for row in account.transactions}
    times = [item["time"] for item in seen]
    assert times == sorted(times, reverse=True)


def test_page_beyond_the_end_is_empty_with_metadata(sandbox, http, account) -> None:
    token = get_token(http, sandbox)
    body = transactions(http, sandbox, token, PageNumber=999, ItemsOnPage=1000).json()

    assert body["items"] == []
    assert body["page_number"] == 999
    assert body["items_count"] == len(account.transactions)


def test_page_size_is_capped_at_1000_and_items_per_page_is_accepted(http) -> None:
    account = make_account(days=1, per_day=10)
    generate_bulk_transactions(account, 2_500, END)
    with VendistaSandbox(accounts=[account]) as sandbox:
        token = get_token(http, sandbox)
        capped = transactions(http, sandbox, token, ItemsOnPage=5000).json()
        assert capped["items_per_page"] == MAX_PAGE_SIZE == 1000
        assert len(capped["items"]) == 1000
        assert capped["items_count"] == len(account.transactions) > 2_500

        other_name = transactions(http, sandbox, token, ItemsPerPage=300).json()
        assert other_name["items_per_page"] == 300
        assert len(other_name["items"]) == 300

        default = transactions(http, sandbox, token).json()
        assert len(default["items"]) == default["items_per_page"] > 0


def test_date_window_filters_on_naive_moscow_times_inclusively(sandbox, http) -> None:
    rows = {
        1: "2026-02-01T00:00:00.000",
        2: "2026-02-01T09:30:00.000",
        3: "2026-02-01T23:59:59.500",
        4: "2026-02-02T00:00:00.000",
        5: "2026-01-31T23:59:59.999",
    }
    items = [
        {"id": 3_000_000_000 + key, "term_id": 1, "time": moment, "sum": 10000}
        for key, moment in rows.items()
    ]
    sandbox.add_transactions(LOGIN, items)
    token = get_token(http, sandbox)

    def ids(date_from: str, date_to: str) -> set[int]:
        body = transactions(http, sandbox, token, DateFrom=date_from, DateTo=date_to).json()
        return {item["id"] - 3_000_000_000 for item in body["items"] if item["id"] > 3e9}

    day = {1, 2, 3}
    assert ids("2026-02-01T00:00:00", "2026-02-01T23:59:59") == day
    assert ids("2026-02-01", "2026-02-01") == day
    assert ids("2026-02-01T09:30:00", "2026-02-01T09:30:00") == {2}
    assert ids("2026-01-31T23:59:59", "2026-02-02T00:00:00") == {1, 2, 3, 4, 5}
    # Times are naive Moscow: the sandbox applies no offset to the window.
    body = transactions(http, sandbox, token, DateFrom="2026-02-01", DateTo="2026-02-01").json()
    assert {item["time"] for item in body["items"]} == {rows[1], rows[2], rows[3]}


def test_window_of_generated_data_matches_the_days(sandbox, http, account) -> None:
    token = get_token(http, sandbox)
    body = transactions(
        http, sandbox, token, DateFrom="2026-01-30T00:00:00", DateTo="2026-01-30T23:59:59"
    ).json()
    expected = [r for r in account.transactions if r.time.startswith("2026-01-30")]

    assert body["items_count"] == len(expected) > 0
    assert all(item["time"].startswith("2026-01-30") for item in body["items"])


def test_transaction_items_have_the_contract_fields(sandbox, http) -> None:
    token = get_token(http, sandbox)
    item = transactions(http, sandbox, token).json()["items"][0]

    assert set(item) >= {
        "id", "term_id", "sum", "time", "result", "reverse_id", "status", "terminal_comment",
        "card_number", "bonus", "left_sum", "left_bonus", "machine_item",
    }  # fmt: skip
    assert TIME_RE.match(item["time"])
    assert re.fullmatch(r"\d{6}\*{6}\d{4}", item["card_number"])
    assert isinstance(item["sum"], int)


# --- generated data ---------------------------------------------------------------------------


def test_same_seed_gives_identical_data_and_another_seed_differs() -> None:
    def dump(account: SandboxAccount) -> list[dict[str, Any]]:
        terminals = [t.to_dict() for t in account.terminals]
        return terminals + [row.to_dict() for row in account.transactions]

    assert dump(make_account()) == dump(make_account())
    assert dump(make_account()) != dump(make_account(seed=43))


def test_generated_ids_exceed_2_31_and_grow_with_time(account) -> None:
    ids = [row.id for row in account.transactions]

    assert min(ids) > 2**31
    assert 2_175_000_000 < min(ids) < 2_176_000_000
    assert ids == sorted(ids)  # transactions are ordered by time, so ids grow with time
    assert all(100_000 <= t.id <= 999_999 for t in account.terminals)


def test_generated_data_is_realistic(account) -> None:
    rows = account.transactions
    assert all(TIME_RE.match(row.time) for row in rows)
    assert any(row.result == 0 for row in rows)  # failed payments
    assert any(row.sum == 0 and row.result == 1 for row in rows)  # free drinks
    assert any(row.machine_item == [] for row in rows)
    paid = [row.sum for row in rows if row.machine_item and row.sum > 0]
    assert min(paid) >= 8_000 and max(paid) <= 25_000
    items = {row.machine_item_id for row in rows if row.machine_item}
    assert items <= set(range(1, 9)) and len(items) > 3
    assert sum(row.is_sale for row in rows) > 0.9 * len(rows)
    names = [t.comment for t in account.terminals]
    assert all(re.fullmatch(r".+ #\d", name) for name in names)
    assert [t.online for t in account.terminals].count(False) == 1


def test_generated_data_has_both_reversal_shapes(account) -> None:
    by_id = {row.id: row for row in account.transactions}
    refund_rows = [row for row in account.transactions if row.reverse_id in by_id]
    flagged = [
        row for row in account.transactions if row.reverse_id and row.reverse_id not in by_id
    ]

    assert refund_rows and flagged
    for refund in refund_rows:
        sale = by_id[refund.reverse_id]
        assert sale.reverse_id == 0 and sale.result == 1
        assert refund.id > sale.id and refund.time > sale.time
        assert refund.term_id == sale.term_id and refund.sum == sale.sum
    assert all(row.reverse_id > row.id > 2**31 for row in flagged)


def test_offline_terminal_has_no_sales_after_it_went_silent(account) -> None:
    offline = next(t for t in account.terminals if not t.online)
    silent_since = offline.last_online_time.isoformat(timespec="milliseconds")

    assert all(r.time <= silent_since for r in account.transactions if r.term_id == offline.id)


def test_bulk_generation_adds_50k_rows_after_the_existing_ids() -> None:
    account = make_account(days=1, per_day=10)
    before = max(row.id for row in account.transactions)
    rows = generate_bulk_transactions(account, 50_000, END)

    assert len(rows) == 50_000 and len(account.transactions) > 50_000
    assert min(row.id for row in rows) > before
    assert all(row.time.startswith("2026-01-31T") for row in rows)


# --- reversals through the mutation API -------------------------------------------------------


def test_reverse_in_both_shapes_is_served(sandbox, http, account) -> None:
    sales = [row for row in account.transactions if row.is_sale and row.sum > 0]
    flagged, refunded = sales[0], sales[1]
    token = get_token(http, sandbox)

    sandbox.reverse(flagged.id, "flag")
    refund = sandbox.reverse(refunded.id, "refund_row", at=datetime(2026, 1, 31, 23, 0))

    served = {item["id"]: item for item in _all_items(http, sandbox, token)}
    assert served[flagged.id]["reverse_id"] > flagged.id
    assert served[refunded.id]["reverse_id"] == 0
    assert served[refund.id]["reverse_id"] == refunded.id
    assert served[refund.id]["time"] == "2026-01-31T23:00:00.000"
    assert refund.id == max(row.id for row in account.transactions)  # ids grow with time


def _all_items(
    http: requests.Session, sandbox: VendistaSandbox, token: str, **params: Any
) -> list[Any]:
    items: list[Any] = []
    page = 1
    while True:
        body = transactions(http, sandbox, token, PageNumber=page, ItemsOnPage=1000, **params)
        body = body.json()
        if not body["items"]:
            return items
        items.extend(body["items"])
        page += 1


# --- /terminals and /coffee_shop --------------------------------------------------------------


def test_terminals_are_paged_with_metadata_and_one_is_offline(sandbox, http, account) -> None:
    token = get_token(http, sandbox)
    body = http.get(f"{sandbox.url}/terminals", params={"token": token, "ItemsOnPage": 1000})
    data = body.json()

    assert data["items_count"] == 3 and data["items_per_page"] == 1000 and data["success"]
    assert [t["id"] for t in data["items"]] == [t.id for t in account.terminals]
    assert [t["last_hour_online"] == 0 for t in data["items"]].count(True) == 1
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", t["last_online_time"])
        for t in data["items"]
    )
    second = http.get(
        f"{sandbox.url}/terminals", params={"token": token, "ItemsOnPage": 2, "PageNumber": 2}
    ).json()
    assert [t["id"] for t in second["items"]] == [account.terminals[2].id]


def test_set_terminal_online_changes_what_terminals_report(sandbox, http, account) -> None:
    offline = next(t for t in account.terminals if not t.online)
    online = next(t for t in account.terminals if t.online)
    sandbox.set_terminal_online(LOGIN, offline.id, True)
    sandbox.set_terminal_online(LOGIN, online.id, False)
    token = get_token(http, sandbox)

    items = http.get(f"{sandbox.url}/terminals", params={"token": token}).json()["items"]
    state = {t["id"]: t["last_hour_online"] for t in items}
    assert state[offline.id] > 0 and state[online.id] == 0


def test_coffee_shop_lists_ids_and_names(sandbox, http, account) -> None:
    token = get_token(http, sandbox)
    body = http.get(f"{sandbox.url}/coffee_shop", params={"token": token}).json()

    assert body == [{"id": t.id, "name": t.comment} for t in account.terminals]


# --- faults -----------------------------------------------------------------------------------


def test_latency_fault_delays_every_answer(sandbox, http) -> None:
    token = get_token(http, sandbox)
    sandbox.faults.latency_s = 0.3

    started = time.perf_counter()
    assert transactions(http, sandbox, token).status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_error_rate_fails_data_calls_reproducibly(sandbox, http) -> None:
    token = get_token(http, sandbox)

    def statuses() -> list[int]:
        sandbox.set_faults(error_rate=0.5, error_seed=7)
        return [transactions(http, sandbox, token).status_code for _ in range(30)]

    first, second = statuses(), statuses()
    assert first == second
    assert 200 in first
    assert set(first) - {200} and set(first) <= {200, 500, 502, 503}
    # /token is never hit by random errors.
    for _ in range(10):
        get_token(http, sandbox)


def test_502_is_an_html_page_like_a_proxy_sends(sandbox, http) -> None:
    token = get_token(http, sandbox)
    sandbox.fail_next("/transactions", status=502)
    response = transactions(http, sandbox, token)

    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Bad Gateway" in response.text


def test_fail_next_fails_one_page_n_times_then_succeeds(sandbox, http) -> None:
    token = get_token(http, sandbox)
    sandbox.fail_next("/transactions", page=3, status=503, times=2)

    page = {"ItemsOnPage": 100}
    assert transactions(http, sandbox, token, PageNumber=1, **page).status_code == 200
    assert transactions(http, sandbox, token, PageNumber=3, **page).status_code == 503
    assert transactions(http, sandbox, token, PageNumber=2, **page).status_code == 200
    assert transactions(http, sandbox, token, PageNumber=3, **page).status_code == 503
    retried = transactions(http, sandbox, token, PageNumber=3, **page)
    assert retried.status_code == 200
    assert retried.json()["page_number"] == 3 and retried.json()["items"]
    assert sandbox.faults_snapshot()["fail_next"] == {}


def test_expire_token_after_n_requests_then_a_new_token_works(sandbox, http) -> None:
    sandbox.set_faults(expire_token_after=3)
    old = get_token(http, sandbox)

    assert [transactions(http, sandbox, old).status_code for _ in range(3)] == [200, 200, 200]
    assert transactions(http, sandbox, old).status_code == 401
    new = get_token(http, sandbox)
    assert new != old
    assert transactions(http, sandbox, new).status_code == 200
    assert transactions(http, sandbox, old).status_code == 401

    sandbox.set_faults(expire_token_after=None)
    assert transactions(http, sandbox, old).status_code == 401  # expired for good


def test_expire_tokens_revokes_issued_tokens(sandbox, http) -> None:
    token = get_token(http, sandbox)
    assert sandbox.expire_tokens(LOGIN) == 1

    assert transactions(http, sandbox, token).status_code == 401
    assert transactions(http, sandbox, get_token(http, sandbox)).status_code == 200


def test_replacing_an_account_revokes_its_tokens_for_good(sandbox, http) -> None:
    old = get_token(http, sandbox)
    sandbox.add_account(make_account(seed=99))

    new = get_token(http, sandbox)
    assert new != old
    assert transactions(http, sandbox, old).status_code == 401
    assert transactions(http, sandbox, new).status_code == 200


def test_rate_limit_answers_429_with_retry_after_per_token(sandbox, http) -> None:
    sandbox.set_faults(rate_limit_per_s=2, retry_after_s=3)
    token, other = get_token(http, sandbox), get_token(http, sandbox)

    codes = [transactions(http, sandbox, token).status_code for _ in range(2)]
    limited = transactions(http, sandbox, token)
    assert codes == [200, 200]
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert transactions(http, sandbox, other).status_code == 200  # the limit is per token

    time.sleep(1.05)
    assert transactions(http, sandbox, token).status_code == 200


def test_faults_are_controlled_over_http(sandbox, http) -> None:
    token = get_token(http, sandbox)
    control = f"{sandbox.url}/_sandbox/faults"
    change = {
        "fail_next": {"/transactions": {"page": 2, "status": 500, "times": 1}},
        "not_found_for_bad_token": True,
        "latency_s": 0.01,
    }
    posted = http.post(control, json=change)
    assert posted.status_code == 200

    current = http.get(control).json()
    assert current["fail_next"] == {"/transactions": [{"status": 500, "page": 2, "times": 1}]}
    assert current["not_found_for_bad_token"] is True
    assert current["latency_s"] == 0.01
    assert transactions(http, sandbox, token, PageNumber=2).status_code == 500
    assert transactions(http, sandbox, token, PageNumber=2).status_code == 200
    assert transactions(http, sandbox, "tok-forged").status_code == 404

    assert http.post(control, json={"no_such_switch": 1}).status_code == 400
    assert http.post(control, json={"error_rate": 2}).status_code == 400
    reset = http.post(f"{control}/reset").json()
    assert reset["not_found_for_bad_token"] is False and reset["latency_s"] == 0
    assert transactions(http, sandbox, "tok-forged").status_code == 401


def test_all_fault_switches_over_http_reach_the_api(sandbox, http) -> None:
    control = f"{sandbox.url}/_sandbox/faults"
    token = get_token(http, sandbox)
    http.post(control, json={"rate_limit_per_s": 1, "retry_after_s": 2})
    transactions(http, sandbox, token)
    assert transactions(http, sandbox, token).headers["Retry-After"] == "2"

    http.post(f"{control}/reset")
    http.post(control, json={"unpaid_logins": [LOGIN]})
    assert transactions(http, sandbox, token).status_code == 402

    http.post(f"{control}/reset")
    http.post(control, json={"expire_token_after": 0})
    assert transactions(http, sandbox, token).status_code == 401


# --- request log ------------------------------------------------------------------------------


def test_request_log_redacts_secrets_and_keeps_the_token_apart(sandbox, http) -> None:
    token = get_token(http, sandbox)
    transactions(http, sandbox, token, PageNumber=2)
    transactions(http, sandbox, "tok-forged")

    log = sandbox.request_log()
    assert [(r.path, r.status) for r in log] == [
        ("/token", 200),
        ("/transactions", 200),
        ("/transactions", 401),
    ]
    assert log[0].params == {"login": LOGIN, "password": "***"}
    assert log[1].params["token"] == "***" and log[1].params["PageNumber"] == "2"
    assert log[1].token == token and log[2].token == "tok-forged"
    assert all(token not in str(r.params) for r in log)

    served = http.get(f"{sandbox.url}/_sandbox/requests", params={"path": "/transactions"})
    entries = served.json()
    assert [e["status"] for e in entries] == [200, 401]
    assert entries[0]["params"]["token"] == "***" and entries[0]["token"] == token
    assert entries[0]["timestamp"] <= time.time()

    http.post(f"{sandbox.url}/_sandbox/requests/reset")
    assert sandbox.request_log() == []


def test_request_log_says_for_whom_from_where_and_when_each_request_came(sandbox, http) -> None:
    """Several worker hosts share one sandbox (tests/scaleout): per request its account (from
    the login, or the token's), the address it came from, and its arrival and answer times."""
    before = time.time()
    token = get_token(http, sandbox)
    transactions(http, sandbox, token)
    transactions(http, sandbox, "tok-forged")
    log = sandbox.request_log()
    assert [(r.login, r.client) for r in log] == [
        (LOGIN, "127.0.0.1"),
        (LOGIN, "127.0.0.1"),
        (None, "127.0.0.1"),
    ]
    assert all(before <= r.started <= r.timestamp <= time.time() for r in log)
    assert all(a.timestamp <= b.started for a, b in pairwise(log))
    served = http.get(f"{sandbox.url}/_sandbox/requests").json()
    assert [(e["login"], e["client"]) for e in served] == [(r.login, r.client) for r in log]
    # Outside an HTTP request (a direct call), no address.
    sandbox.dispatch("GET", f"/transactions?token={token}&DateFrom=2026-01-01")
    assert sandbox.request_log()[-1].client == ""


# --- mutation API over HTTP -------------------------------------------------------------------


def test_accounts_and_transactions_are_managed_over_http(sandbox, http) -> None:
    base = f"{sandbox.url}/_sandbox"
    created = http.post(
        f"{base}/accounts",
        json={"login": "owner-2", "password": "pw-2", "seed": 5, "terminals": 2, "days": 3,
              "end": "2026-01-31"},
    )  # fmt: skip
    assert created.status_code == 200
    assert created.json()["login"] == "owner-2" and len(created.json()["terminals"]) == 2
    token = get_token(http, sandbox, "owner-2")
    before = transactions(http, sandbox, token).json()["items_count"]

    sale = {"id": 4_000_000_001, "term_id": created.json()["terminals"][0], "sum": 15000,
            "time": "2026-01-31 12:00:00", "machine_item": [{"machine_item_id": 2}]}  # fmt: skip
    assert http.post(f"{base}/transactions", json={"login": "owner-2", "items": [sale]}).ok
    body = transactions(http, sandbox, token, ItemsOnPage=1000).json()
    assert body["items_count"] == before + 1
    served = next(item for item in body["items"] if item["id"] == 4_000_000_001)
    assert served["time"] == "2026-01-31 12:00:00"  # served in the shape it was given

    refund = http.post(f"{base}/reverse", json={"tx_id": 4_000_000_001, "shape": "refund_row"})
    assert refund.json()["reverse_id"] == 4_000_000_001
    flagged = http.post(f"{base}/reverse", json={"tx_id": 4_000_000_001, "shape": "flag"})
    assert flagged.json()["reverse_id"] > 4_000_000_001

    unpaid = http.post(f"{base}/accounts/unpaid", json={"login": "owner-2", "unpaid": True})
    assert unpaid.json()["unpaid"] is True
    assert transactions(http, sandbox, token).status_code == 402
    http.post(f"{base}/accounts/unpaid", json={"login": "owner-2", "unpaid": False})

    expired = http.post(f"{base}/tokens/expire", json={"login": "owner-2"})
    assert expired.json()["expired"] == 1
    assert transactions(http, sandbox, token).status_code == 401

    assert http.post(f"{base}/reverse", json={"tx_id": 1}).status_code == 404
    assert http.post(f"{base}/nothing", json={}).status_code == 404
    logins = [a["login"] for a in http.get(f"{base}/accounts").json()]
    assert logins == [LOGIN, "owner-2"]


def test_replace_all_transactions(sandbox, http) -> None:
    sandbox.add_transactions(
        LOGIN,
        [{"id": 2**33, "term_id": 1, "time": "2026-01-15T10:00:00", "sum": 0}],
        replace_all=True,
    )
    token = get_token(http, sandbox)
    body = transactions(http, sandbox, token).json()

    assert body["items_count"] == 1 and body["items"][0]["id"] == 2**33


# --- HTTP behaviour, performance, demo, command -----------------------------------------------


def test_keep_alive_with_content_length(sandbox, http) -> None:
    token = get_token(http, sandbox)
    response = transactions(http, sandbox, token)

    assert response.raw.version == 11
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert response.headers.get("Connection", "").lower() != "close"


def test_a_50k_account_serves_full_pages_of_distinct_rows(http) -> None:
    # Speed is measured by bench/import_bench.py, not asserted here.
    account = make_account(days=1, per_day=10)
    generate_bulk_transactions(account, 50_000, END)
    with VendistaSandbox(accounts=[account]) as sandbox:
        token = get_token(http, sandbox)
        seen: set[int] = set()
        for page in range(1, 12):
            response = transactions(http, sandbox, token, PageNumber=page, ItemsOnPage=1000)
            items = response.json()["items"]
            assert len(items) == 1000
            seen.update(item["id"] for item in items)
    assert len(seen) == 11_000


def test_stop_closes_the_port() -> None:
    with VendistaSandbox() as sandbox:
        url = sandbox.url
        assert requests.get(f"{url}/_sandbox/faults", timeout=5).ok
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/_sandbox/faults", timeout=5)


def test_demo_accounts(http) -> None:
    with VendistaSandbox.with_demo_accounts(today=END) as sandbox:
        token = get_token(http, sandbox, DEMO_LOGIN)
        assert sandbox.account(DEMO_LOGIN).password == DEMO_PASSWORD
        terminals = http.get(f"{sandbox.url}/terminals", params={"token": token}).json()
        assert terminals["items_count"] == 4
        body = transactions(http, sandbox, token, DateFrom="2026-01-02", DateTo="2026-01-31")
        assert 60 * 30 < body.json()["items_count"] < 90 * 30

        unpaid = {"login": UNPAID_LOGIN, "password": UNPAID_PASSWORD}
        assert http.get(f"{sandbox.url}/token", params=unpaid).status_code == 402


@pytest.mark.wall_clock
def test_live_demo_account_hides_future_sales(http) -> None:
    # A stopped clock: the day the account is generated for, the cut-off each page is served
    # with and `now` below are one instant (a sale may fall between two readings otherwise).
    with time_machine.travel(time.time(), tick=False):
        with VendistaSandbox.with_demo_accounts() as sandbox:
            account = sandbox.account(DEMO_LOGIN)
            token = get_token(http, sandbox, DEMO_LOGIN)
            items = _all_items(http, sandbox, token, DateFrom="2000-01-01", DateTo="2100-01-01")
        now = format_time(moscow_now())

    # The generated window ends tonight; the served one ends now, Moscow time.
    assert account.live
    assert account.transactions[-1].time[:10] == now[:10]
    assert items and max(item["time"] for item in items) <= now
    assert len(items) == sum(1 for row in account.transactions if row.time <= now)


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "sandboxes.vendista", "--port", "0", "--latency", "0.01"],
        [sys.executable, "-m", "sandboxes.vendista", "--port", "0", "--rate-limit", "5"],
    ],
)
def test_command_serves_the_demo_accounts_until_sigterm(command) -> None:
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert match, first
        response = requests.get(
            f"{match.group(0)}/token",
            params={"login": DEMO_LOGIN, "password": DEMO_PASSWORD},
            timeout=10,
        )
        assert response.status_code == 200 and response.json()["token"]
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "stopped" in output
