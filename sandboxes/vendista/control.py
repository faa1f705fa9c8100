"""`/_sandbox/...` JSON endpoints: drive a sandbox running in another process.

GET  /_sandbox/faults                  current fault switches
POST /_sandbox/faults                  partial update, e.g. {"latency_s": 0.2, "fail_next": {...}}
POST /_sandbox/faults/reset            all faults off
GET  /_sandbox/requests[?path=/token]  the request log (token redacted in params)
POST /_sandbox/requests/reset          empty the request log
GET  /_sandbox/accounts                account summaries
POST /_sandbox/accounts                {"login", "password", "seed", "terminals": 3 | [...],
                                        "days", "per_day", "machine_items", "start", "end",
                                        "first_id", "transactions": [...], "unpaid", "live",
                                        "bulk"}
POST /_sandbox/accounts/unpaid         {"login", "unpaid": true}
POST /_sandbox/transactions            {"login", "items": [...], "replace_all": false}
POST /_sandbox/transactions/bulk       {"login", "count": 50000, "day": "YYYY-MM-DD"}
POST /_sandbox/reverse                 {"tx_id", "shape": "flag" | "refund_row", "login", "at"}
POST /_sandbox/terminals/online        {"login", "terminal_id", "online": true, "offline_since"}
POST /_sandbox/tokens/expire           {"login"} (or {} for every login)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from sandboxes.base import Response, json_response
from sandboxes.vendista.data import (
    SandboxAccount,
    SandboxTerminal,
    SandboxTransaction,
    generate_account,
    generate_bulk_transactions,
    parse_time,
)
from sandboxes.vendista.errors import error_response
from sandboxes.vendista.faults import SandboxFaults


class _Recorded(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class ControlledSandbox(Protocol):
    """What the control endpoints drive. `VendistaSandbox` is one; it hands itself in, so this
    module never imports the server that imports it."""

    def faults_snapshot(self) -> dict[str, Any]: ...

    def set_faults(self, **changes: Any) -> SandboxFaults: ...

    def reset_faults(self) -> None: ...

    def request_log(self, path: str | None = None) -> Sequence[_Recorded]: ...

    def reset_request_log(self) -> None: ...

    def logins(self) -> list[str]: ...

    def account(self, login: str) -> SandboxAccount: ...

    def add_account(self, account: SandboxAccount) -> SandboxAccount: ...

    def set_unpaid(self, login: str, unpaid: bool = True) -> None: ...

    def add_transactions(
        self,
        login: str,
        items: Iterable[SandboxTransaction | Mapping[str, Any]],
        *,
        replace_all: bool = False,
    ) -> int: ...

    def add_bulk_transactions(
        self, login: str, count: int = 50_000, day: date | None = None
    ) -> list[SandboxTransaction]: ...

    def reverse(
        self,
        tx_id: int,
        shape: str = "flag",
        *,
        login: str | None = None,
        at: datetime | None = None,
    ) -> SandboxTransaction: ...

    def set_terminal_online(
        self,
        login: str,
        terminal_id: int,
        online: bool = True,
        *,
        last_hour_online: int | None = None,
        offline_since: datetime | None = None,
    ) -> SandboxTerminal: ...

    def expire_tokens(self, login: str | None = None) -> int: ...


def handle_control(
    sandbox: ControlledSandbox, method: str, path: str, query: dict[str, str], body: bytes
) -> Response:
    try:
        payload = json.loads(body) if body.strip() else {}
    except ValueError:
        return error_response(400, "the body must be JSON")
    if not isinstance(payload, dict):
        return error_response(400, "the body must be a JSON object")
    route = (method, path.removeprefix("/_sandbox"))
    try:
        return json_response(200, _route(sandbox, route, query, payload))
    except KeyError as exc:
        return error_response(404, str(exc.args[0]) if exc.args else "not found")
    except (ValueError, TypeError) as exc:
        return error_response(400, str(exc))


def _route(
    sandbox: ControlledSandbox, route: tuple[str, str], query: dict[str, str], body: dict[str, Any]
) -> Any:
    if route == ("GET", "/faults"):
        return sandbox.faults_snapshot()
    if route == ("POST", "/faults"):
        sandbox.set_faults(**body)
        return sandbox.faults_snapshot()
    if route == ("POST", "/faults/reset"):
        sandbox.reset_faults()
        return sandbox.faults_snapshot()
    if route == ("GET", "/requests"):
        return [r.to_dict() for r in sandbox.request_log(query.get("path"))]
    if route == ("POST", "/requests/reset"):
        sandbox.reset_request_log()
        return {"success": True}
    if route == ("GET", "/accounts"):
        return [sandbox.account(login).summary() for login in sandbox.logins()]
    if route == ("POST", "/accounts"):
        return sandbox.add_account(account_from_json(body)).summary()
    if route == ("POST", "/accounts/unpaid"):
        sandbox.set_unpaid(body["login"], bool(body.get("unpaid", True)))
        return sandbox.account(body["login"]).summary()
    if route == ("POST", "/transactions"):
        count = sandbox.add_transactions(
            body["login"], body.get("items", []), replace_all=bool(body.get("replace_all"))
        )
        return {"success": True, "count": count}
    if route == ("POST", "/transactions/bulk"):
        day = date.fromisoformat(body["day"]) if body.get("day") else None
        rows = sandbox.add_bulk_transactions(body["login"], int(body.get("count", 50_000)), day)
        return {"success": True, "count": len(rows)}
    if route == ("POST", "/reverse"):
        row = sandbox.reverse(
            int(body["tx_id"]),
            str(body.get("shape", "flag")),
            login=body.get("login"),
            at=parse_time(body["at"]) if body.get("at") else None,
        )
        return row.to_dict()
    if route == ("POST", "/terminals/online"):
        terminal = sandbox.set_terminal_online(
            body["login"],
            int(body["terminal_id"]),
            bool(body.get("online", True)),
            last_hour_online=body.get("last_hour_online"),
            offline_since=parse_time(body["offline_since"]) if body.get("offline_since") else None,
        )
        return terminal.to_dict()
    if route == ("POST", "/tokens/expire"):
        return {"success": True, "expired": sandbox.expire_tokens(body.get("login"))}
    raise KeyError(f"no sandbox control endpoint {route[0]} /_sandbox{route[1]}")


def account_from_json(body: dict[str, Any]) -> SandboxAccount:
    """An account from explicit `terminals`/`transactions` lists, or generated from `seed`."""
    login, password = str(body["login"]), str(body["password"])
    terminals = body.get("terminals", 3)
    transactions = body.get("transactions")
    if isinstance(terminals, list) or transactions is not None:
        account = SandboxAccount(
            login=login,
            password=password,
            terminals=[SandboxTerminal.from_dict(t) for t in terminals]
            if isinstance(terminals, list)
            else [],
            transactions=[SandboxTransaction.from_dict(t) for t in transactions or []],
        )
    else:
        options: dict[str, Any] = {
            key: int(body[key])
            for key in ("days", "per_day", "machine_items", "first_id")
            if key in body
        }
        for key in ("start", "end"):
            if body.get(key):
                options[key] = date.fromisoformat(body[key])
        account = generate_account(
            login, password, seed=body.get("seed", login), terminals=int(terminals), **options
        )
    account.unpaid = bool(body.get("unpaid", False))
    account.live = bool(body.get("live", False))
    if body.get("bulk"):
        generate_bulk_transactions(account, int(body["bulk"]))
    return account
