"""A local stand-in for the YooKassa v3 API subset we use (tests and local trials).

    sandbox = YooKassaSandbox().start()      # http://127.0.0.1:<port>/v3
    settings.YOOKASSA_API_URL = sandbox.api_url
    ...
    sandbox.set_status(payment_id, "succeeded")
    sandbox.stop()

Speaks POST /v3/payments (Idempotence-Key: a repeat returns the original payment), GET
/v3/payments/{id}, POST /v3/payments/{id}/cancel (only `waiting_for_capture`, like YooKassa),
POST /v3/refunds. `fail_next` makes the next N create calls store the payment but answer 500
("no definite answer", as YooKassa does), so a retry must reuse the key. Every request is recorded.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class SandboxRequest:
    method: str
    path: str
    idempotence_key: str | None
    body: dict[str, Any]


@dataclass
class _State:
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[SandboxRequest] = field(default_factory=list)
    fail_next: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class YooKassaSandbox:
    def __init__(self) -> None:
        self.state = _State()
        self._server: ThreadingHTTPServer | None = None

    # --- control ---

    def start(self) -> YooKassaSandbox:
        state = self.state

        class Handler(_Handler):
            sandbox_state = state

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def api_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v3"

    def set_status(self, payment_id: str, status: str, reason: str = "") -> None:
        with self.state.lock:
            payment = self.state.payments[payment_id]
            payment["status"] = status
            payment["paid"] = status in ("succeeded", "waiting_for_capture")
            if status == "canceled":
                payment["cancellation_details"] = {
                    "party": "yoo_money",
                    "reason": reason or "expired_on_confirmation",
                }

    def fail_next(self, count: int = 1) -> None:
        self.state.fail_next = count

    def requests(self, method: str, path_prefix: str) -> list[SandboxRequest]:
        return [
            r for r in self.state.requests if r.method == method and r.path.startswith(path_prefix)
        ]


def notification(event: str, payment: dict[str, Any]) -> dict[str, Any]:
    """A notification body as YooKassa sends it."""
    return {"type": "notification", "event": event, "object": payment}


class _Handler(BaseHTTPRequestHandler):
    sandbox_state: _State

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parsed: dict[str, Any] = json.loads(raw) if raw else {}
        return parsed

    def _record(self, body: dict[str, Any]) -> None:
        self.sandbox_state.requests.append(
            SandboxRequest(self.command, self.path, self.headers.get("Idempotence-Key"), body)
        )

    def do_GET(self) -> None:
        self._record({})
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[:2] == ["v3", "payments"]:
            payment = self.sandbox_state.payments.get(parts[2])
            if payment is None:
                self._send(404, _error("not_found", "Payment not found"))
            else:
                self._send(200, payment)
            return
        self._send(404, _error("not_found", "Unknown path"))

    def do_POST(self) -> None:
        body = self._body()
        self._record(body)
        key = self.headers.get("Idempotence-Key")
        if not key or len(key) > 64:
            self._send(400, _error("invalid_request", "Idempotence-Key is required"))
            return
        state = self.sandbox_state
        parts = self.path.strip("/").split("/")
        with state.lock:
            if (self.path, key) in state.by_key:
                self._send(200, state.by_key[(self.path, key)])
                return
            if parts == ["v3", "payments"]:
                result = _new_payment(body)
                state.payments[result["id"]] = result
                state.by_key[(self.path, key)] = result
                if state.fail_next > 0:
                    state.fail_next -= 1
                    self._send(500, _error("internal_server_error", "Try again later"))
                    return
            elif len(parts) == 4 and parts[1] == "payments" and parts[3] == "cancel":
                payment = state.payments.get(parts[2])
                if payment is None:
                    self._send(404, _error("not_found", "Payment not found"))
                    return
                if payment["status"] != "waiting_for_capture":
                    self._send(400, _error("invalid_request", "Payment cannot be canceled"))
                    return
                payment["status"] = "canceled"
                payment["cancellation_details"] = {
                    "party": "merchant",
                    "reason": "canceled_by_merchant",
                }
                result = payment
                state.by_key[(self.path, key)] = result
            elif parts == ["v3", "refunds"]:
                payment = state.payments.get(body.get("payment_id", ""))
                if payment is None or payment["status"] != "succeeded":
                    self._send(400, _error("invalid_request", "Payment is not refundable"))
                    return
                result = {
                    "id": f"rf-{uuid.uuid4()}",
                    "payment_id": payment["id"],
                    "status": "succeeded",
                    "amount": body["amount"],
                    "created_at": "2026-01-01T00:00:00.000Z",
                }
                state.refunds[result["id"]] = result
                state.by_key[(self.path, key)] = result
            else:
                self._send(404, _error("not_found", "Unknown path"))
                return
        self._send(200, result)


def _new_payment(body: dict[str, Any]) -> dict[str, Any]:
    payment_id = str(uuid.uuid4())
    return {
        "id": payment_id,
        "status": "pending",
        "paid": False,
        "amount": body.get("amount"),
        "description": body.get("description", ""),
        "metadata": body.get("metadata", {}),
        "confirmation": {
            "type": "qr",
            "confirmation_data": f"https://qr.nspk.ru/sandbox-{payment_id}",
        },
        "created_at": "2026-01-01T00:00:00.000Z",
        "recipient": {"account_id": "sandbox", "gateway_id": "sandbox"},
        "refundable": False,
        "test": True,
    }


def _error(code: str, description: str) -> dict[str, Any]:
    return {
        "type": "error",
        "id": str(uuid.uuid4()),
        "code": code,
        "description": description,
    }
