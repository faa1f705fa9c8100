"""The Vendista API sandbox: a local HTTP server speaking `shared/spec/vendista-api.md`.

API calls (all GET): `/token`, `/transactions`, `/terminals`, `/coffee_shop`. Test control
(JSON): `GET|POST /_sandbox/faults`, `POST /_sandbox/faults/reset`, `GET /_sandbox/requests`,
`POST /_sandbox/requests/reset`, `GET|POST /_sandbox/accounts`, `POST /_sandbox/accounts/unpaid`,
`POST /_sandbox/transactions`, `POST /_sandbox/transactions/bulk`, `POST /_sandbox/reverse`,
`POST /_sandbox/terminals/online`, `POST /_sandbox/tokens/expire`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, cast
from urllib.parse import parse_qsl, urlsplit

from sandboxes.base import Response, ServedSandbox, current_client, json_response
from sandboxes.vendista.control import handle_control
from sandboxes.vendista.data import (
    DEMO_LOGIN,
    SandboxAccount,
    SandboxTerminal,
    SandboxTransaction,
    demo_accounts,
    format_time,
    generate_account,
    generate_bulk_transactions,
    moscow_now,
    parse_time,
    window_key,
)
from sandboxes.vendista.errors import error_response
from sandboxes.vendista.faults import FailRule, SandboxFaults

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50
REDACTED = "***"
_SECRET_PARAMS = ("token", "password")


class RecordedRequest(NamedTuple):
    """One API request as the sandbox saw it; secrets in `params` are replaced by `***`.

    `timestamp` is when its answer was ready, `started` when it arrived (both `time.time()`),
    `login` the account it was for (by its login or its token; None for an unknown token) and
    `client` the address it came from: enough to tell, per account, which host asked what when.
    """

    path: str
    params: dict[str, str]
    token: str | None
    status: int
    timestamp: float
    login: str | None = None
    client: str = ""
    started: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


@dataclass
class _TokenState:
    login: str
    uses: int = 0
    revoked: bool = False
    recent: deque[float] = field(default_factory=deque)


class _BadRequest(ValueError):
    pass


def _token_for(login: str, number: int) -> str:
    """Random-looking, yet the n-th token of a login is the same in every sandbox."""
    digest = hashlib.sha256(f"vendista-sandbox:{login}:{number}".encode()).hexdigest()[:24]
    return f"tok-{login}-{number}-{digest}"


def _int_param(params: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = params.get(name.lower())
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _BadRequest(f"{name} must be an integer") from None
    if value < minimum:
        raise _BadRequest(f"{name} must be at least {minimum}")
    return value


class VendistaSandbox(ServedSandbox):
    """A Vendista API stand-in on 127.0.0.1, served from a daemon thread.

    Thread-safe: every change to accounts, tokens, faults and the request log happens under one
    lock. Use as a context manager, or `start()` / `stop()`.
    """

    name = "Vendista"

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        accounts: Iterable[SandboxAccount] = (),
        faults: SandboxFaults | None = None,
        default_page_size: int = DEFAULT_PAGE_SIZE,
        max_page_size: int = MAX_PAGE_SIZE,
        log_limit: int = 100_000,
    ) -> None:
        super().__init__(port, host)
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size
        self.faults = faults or SandboxFaults()
        self._lock = threading.RLock()
        self._accounts: dict[str, SandboxAccount] = {}
        self._tokens: dict[str, _TokenState] = {}
        self._log: deque[RecordedRequest] = deque(maxlen=log_limit)
        self._error_rng = random.Random(self.faults.error_seed)  # noqa: S311 - fault injection
        for account in accounts:
            self.add_account(account)

    @classmethod
    def with_demo_accounts(
        cls, port: int = 0, host: str = "127.0.0.1", *, today: date | None = None, bulk: int = 0
    ) -> VendistaSandbox:
        """The demo accounts (`DEMO_LOGIN` live, `UNPAID_LOGIN` unpaid); `bulk` extra sales
        today on the demo account, for load tests. A fixed `today` turns live mode off."""
        sandbox = cls(port, host, accounts=demo_accounts(today=today))
        if bulk:
            demo = sandbox.account(DEMO_LOGIN)
            generate_bulk_transactions(demo, bulk, today or moscow_now().date())
        return sandbox

    # --- accounts and data -----------------------------------------------------------------

    def add_account(self, account: SandboxAccount) -> SandboxAccount:
        """Add or replace an account (by login); its old tokens stop working."""
        with self._lock:
            previous = self._accounts.get(account.login)
            if previous is not None:
                # Keep counting, so a revoked token's text is never issued again.
                account.tokens_issued = max(account.tokens_issued, previous.tokens_issued)
            self._accounts[account.login] = account
            for state in self._tokens.values():
                if state.login == account.login:
                    state.revoked = True
        return account

    def create_account(
        self, login: str, password: str, *, seed: int | str, **params: Any
    ) -> SandboxAccount:
        """Generate an account (`generate_account` parameters) and add it."""
        return self.add_account(generate_account(login, password, seed=seed, **params))

    def account(self, login: str) -> SandboxAccount:
        with self._lock:
            try:
                return self._accounts[login]
            except KeyError:
                raise KeyError(f"no sandbox account {login!r}") from None

    def logins(self) -> list[str]:
        with self._lock:
            return list(self._accounts)

    def add_transactions(
        self,
        login: str,
        items: Iterable[SandboxTransaction | Mapping[str, Any]],
        *,
        replace_all: bool = False,
    ) -> int:
        """Add transactions (replacing same ids), or replace the whole list; returns the count."""
        rows = [
            item if isinstance(item, SandboxTransaction) else SandboxTransaction.from_dict(item)
            for item in items
        ]
        with self._lock:
            account = self.account(login)
            if replace_all:
                return account.replace_transactions(rows)
            return account.upsert_transactions(rows)

    def add_bulk_transactions(
        self, login: str, count: int = 50_000, day: date | None = None
    ) -> list[SandboxTransaction]:
        with self._lock:
            return generate_bulk_transactions(self.account(login), count, day)

    def reverse(
        self,
        tx_id: int,
        shape: str = "flag",
        *,
        login: str | None = None,
        at: datetime | None = None,
    ) -> SandboxTransaction:
        """Reverse a sale.

        `flag`: the sale itself gets a non-zero `reverse_id` (the id of an unseen reversing
        operation; a no-op when already set); returns the sale. `refund_row`: a new row whose
        `reverse_id` names the sale, at `at` (default now, Moscow); returns that row.
        """
        if shape not in ("flag", "refund_row"):
            raise ValueError("shape is 'flag' or 'refund_row'")
        with self._lock:
            account, sale = self._find_transaction(tx_id, login)
            if shape == "flag":
                if sale.reverse_id:
                    return sale  # already reversed: Vendista reverses a sale once
                sale.reverse_id = account.next_id()
                sale.invalidate()
                return sale
            when = at or max(moscow_now(), parse_time(sale.time) + timedelta(seconds=1))
            refund = SandboxTransaction(
                id=account.next_id(),
                term_id=sale.term_id,
                time=format_time(when),
                sum=sale.sum,
                reverse_id=sale.id,
                machine_item=[dict(entry) for entry in sale.machine_item or []],
                terminal_comment=sale.terminal_comment,
                card_number=sale.card_number,
            )
            account.upsert_transactions([refund])
            return refund

    def _find_transaction(
        self, tx_id: int, login: str | None
    ) -> tuple[SandboxAccount, SandboxTransaction]:
        accounts = [self.account(login)] if login else list(self._accounts.values())
        found = [(a, a.transaction(tx_id)) for a in accounts if a.transaction(tx_id) is not None]
        if not found:
            raise KeyError(f"no transaction {tx_id}")
        if len(found) > 1:
            raise KeyError(f"transaction {tx_id} exists in several accounts; pass login")
        account, item = found[0]
        return account, cast(SandboxTransaction, item)

    def set_terminal_online(
        self,
        login: str,
        terminal_id: int,
        online: bool = True,
        *,
        last_hour_online: int | None = None,
        offline_since: datetime | None = None,
    ) -> SandboxTerminal:
        """Online: seen now with `last_hour_online` (default 60); offline: `last_hour_online` 0,
        last seen at `offline_since` (Moscow time) when given."""
        with self._lock:
            terminal = self.account(login).terminal(terminal_id)
            if terminal is None:
                raise KeyError(f"no terminal {terminal_id} in {login!r}")
            if online:
                terminal.last_hour_online = last_hour_online if last_hour_online else 60
                terminal.last_online_time = moscow_now().replace(microsecond=0)
            else:
                terminal.last_hour_online = 0
                if offline_since is not None:
                    terminal.last_online_time = offline_since.replace(microsecond=0)
            return terminal

    def set_unpaid(self, login: str, unpaid: bool = True) -> None:
        with self._lock:
            self.account(login).unpaid = unpaid

    def issue_token(self, login: str) -> str:
        """A new valid token for `login`, as `/token` would issue it (no checks, not logged)."""
        with self._lock:
            account = self.account(login)
            account.tokens_issued += 1
            token = _token_for(login, account.tokens_issued)
            self._tokens[token] = _TokenState(login)
            return token

    def expire_tokens(self, login: str | None = None) -> int:
        """Revoke every token (of one login); returns how many were still valid."""
        with self._lock:
            count = 0
            for state in self._tokens.values():
                if not state.revoked and login in (None, state.login):
                    state.revoked = True
                    count += 1
            return count

    # --- faults ----------------------------------------------------------------------------

    def set_faults(self, **changes: Any) -> SandboxFaults:
        """Change fault switches by name (see `SandboxFaults`); setting `error_rate` or
        `error_seed` restarts the seeded error sequence."""
        with self._lock:
            self.faults.update(changes)
            if "error_rate" in changes or "error_seed" in changes:
                self._error_rng = random.Random(self.faults.error_seed)  # noqa: S311 - fault injection
            return self.faults

    def fail_next(
        self, path: str, *, status: int = 503, page: int | None = None, times: int = 1
    ) -> None:
        """Fail the next `times` requests of `path` (and `page`) with `status`."""
        rule = FailRule.from_value({"status": status, "page": page, "times": times})
        with self._lock:
            self.faults.add_fail_rule(path, rule)

    def faults_snapshot(self) -> dict[str, Any]:
        """The fault switches as JSON-ready data (what `GET /_sandbox/faults` answers)."""
        with self._lock:
            return self.faults.to_dict()

    def reset_faults(self) -> None:
        with self._lock:
            self.faults = SandboxFaults()
            self._error_rng = random.Random(0)  # noqa: S311 - fault injection

    # --- request log -----------------------------------------------------------------------

    def request_log(self, path: str | None = None) -> list[RecordedRequest]:
        """API requests so far (oldest first), optionally of one path."""
        with self._lock:
            return [r for r in self._log if path is None or r.path == path]

    def reset_request_log(self) -> None:
        with self._lock:
            self._log.clear()

    # --- HTTP dispatch ---------------------------------------------------------------------

    def dispatch(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Answer one HTTP request (used by the handler; callable directly in tests). The API
        reads no headers: Vendista takes the token in the query string."""
        parts = urlsplit(target)
        path = "/" + parts.path.strip("/").lower()
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        if path.startswith("/_sandbox"):
            return handle_control(self, method, path, dict(pairs), body)
        params = {name.lower(): value for name, value in pairs}
        started = time.time()
        response = self._api(method, path, params)
        logged = {
            name: REDACTED if name.lower() in _SECRET_PARAMS else value for name, value in pairs
        }
        token = params.get("token")
        with self._lock:
            state = self._tokens.get(token) if token else None
            login = state.login if state is not None else params.get("login")
            self._log.append(
                RecordedRequest(
                    path,
                    logged,
                    token,
                    response.status,
                    time.time(),
                    login,
                    current_client(),
                    started,
                )
            )
        return response

    def _api(self, method: str, path: str, params: dict[str, str]) -> Response:
        delay = self.faults.latency_s
        if delay > 0:
            time.sleep(delay)
        serve: Callable[[SandboxAccount, dict[str, str], int, int], Response]
        if method != "GET" and path in ("/token", "/transactions", "/terminals", "/coffee_shop"):
            return error_response(405, "GET only")
        if path == "/token":
            return self._token(params)
        elif path == "/transactions":
            serve = self._transactions
        elif path == "/terminals":
            serve = self._terminals
        elif path == "/coffee_shop":
            serve = self._coffee_shop
        else:
            return error_response(404, f"no such endpoint: {path}")
        return self._data_call(path, params, serve)

    def _token(self, params: dict[str, str]) -> Response:
        login, password = params.get("login"), params.get("password")
        if not login or not password:
            return error_response(400, "login and password are required")
        with self._lock:
            forced = self.faults.take_fail_rule("/token", None)
            if forced is not None:
                return error_response(forced, "forced failure")
            account = self._accounts.get(login)
            if account is None or account.password != password:
                status = 404 if self.faults.not_found_for_bad_credentials else 401
                return error_response(status, "Invalid login or password")
            if self._is_unpaid(account):
                return error_response(402, "Payment required")
            if self.faults.token_soft_error is not None:
                return json_response(200, {"success": False, "error": self.faults.token_soft_error})
            return json_response(200, {"token": self.issue_token(login)})

    def _data_call(
        self,
        path: str,
        params: dict[str, str],
        serve: Callable[[SandboxAccount, dict[str, str], int, int], Response],
    ) -> Response:
        token = params.get("token")
        if not token:
            return error_response(400, "token is required")
        with self._lock:
            faults = self.faults
            state = self._tokens.get(token)
            account = self._accounts.get(state.login) if state else None
            if state is None or account is None or state.revoked:
                return self._bad_token()
            if faults.expire_token_after is not None and state.uses >= faults.expire_token_after:
                state.revoked = True
                return self._bad_token()
            state.uses += 1
            if self._is_unpaid(account):
                return error_response(402, "Payment required")
            limited = self._rate_limited(state)
            if limited is not None:
                return limited
            try:
                page = _int_param(params, "PageNumber", 1)
                size = self._page_size(params)
            except _BadRequest as exc:
                return error_response(400, str(exc))
            forced = faults.take_fail_rule(path, page)
            if forced is not None:
                return error_response(forced, "forced failure")
            if faults.error_rate > 0 and self._error_rng.random() < faults.error_rate:
                status = self._error_rng.choice((500, 502, 503))
                return error_response(status, "random failure")
            try:
                return serve(account, params, page, size)
            except _BadRequest as exc:
                return error_response(400, str(exc))

    def _bad_token(self) -> Response:
        status = 404 if self.faults.not_found_for_bad_token else 401
        return error_response(status, "Unauthorized")

    def _is_unpaid(self, account: SandboxAccount) -> bool:
        return account.unpaid or account.login in self.faults.unpaid_logins

    def _rate_limited(self, state: _TokenState) -> Response | None:
        limit = self.faults.rate_limit_per_s
        if limit is None:
            return None
        window = 1.0 if limit >= 1 else 1.0 / limit
        allowed = max(1, int(limit * window))
        now = time.monotonic()
        while state.recent and state.recent[0] <= now - window:
            state.recent.popleft()
        if len(state.recent) >= allowed:
            retry = {"Retry-After": str(self.faults.retry_after_s)}
            return error_response(429, "Too many requests", retry)
        state.recent.append(now)
        return None

    def _page_size(self, params: Mapping[str, str]) -> int:
        name = "ItemsOnPage" if params.get("itemsonpage") else "ItemsPerPage"
        return min(_int_param(params, name, self.default_page_size), self.max_page_size)

    def _transactions(
        self, account: SandboxAccount, params: dict[str, str], page: int, size: int
    ) -> Response:
        date_from, date_to = params.get("datefrom"), params.get("dateto")
        if not date_from:
            raise _BadRequest("DateFrom is required")
        try:
            lower = window_key(date_from, upper=False)
            upper = window_key(date_to, upper=True) if date_to else None
        except ValueError:
            raise _BadRequest("DateFrom/DateTo must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS") from None
        lo, hi = account.window(lower, upper)
        rows = account.transactions
        ascending = params.get("orderdesc", "").lower() == "false"
        term_id = params.get("termid")
        if term_id:
            try:
                wanted = int(term_id)
            except ValueError:
                raise _BadRequest("TermId must be an integer") from None
            chosen = [row for row in rows[lo:hi] if row.term_id == wanted]
            if not ascending:
                chosen.reverse()
            total = len(chosen)
            items = chosen[(page - 1) * size : page * size]
        else:
            total = hi - lo
            if ascending:
                start = lo + (page - 1) * size
                items = rows[start : min(hi, start + size)]
            else:
                end = hi - (page - 1) * size
                items = rows[max(lo, end - size) : max(lo, end)][::-1]
        return self._page([row.to_json() for row in items], page, total, size)

    def _terminals(
        self, account: SandboxAccount, params: dict[str, str], page: int, size: int
    ) -> Response:
        now = moscow_now() if account.live else None
        chosen = account.terminals[(page - 1) * size : page * size]
        encoded = [json.dumps(t.to_dict(now), ensure_ascii=False).encode() for t in chosen]
        return self._page(encoded, page, len(account.terminals), size)

    def _coffee_shop(
        self, account: SandboxAccount, params: dict[str, str], page: int, size: int
    ) -> Response:
        return json_response(200, [{"id": t.id, "name": t.comment} for t in account.terminals])

    @staticmethod
    def _page(items: list[bytes], page: int, total: int, size: int) -> Response:
        meta = f'"page_number":{page},"items_count":{total},"items_per_page":{size},"success":true'
        return Response(200, b'{"items":[' + b",".join(items) + b"]," + meta.encode() + b"}")
