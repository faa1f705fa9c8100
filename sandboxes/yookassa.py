"""A local stand-in for the YooKassa v3 API subset we use (tests and local trials).

    sandbox = YooKassaSandbox().start()      # http://127.0.0.1:<port>/v3
    settings.YOOKASSA_API_URL = sandbox.api_url
    ...
    sandbox.set_status(payment_id, "succeeded")
    sandbox.stop()

Speaks POST /v3/payments (Idempotence-Key: a repeat returns the original payment), GET
/v3/payments/{id}, POST /v3/payments/{id}/capture (only `waiting_for_capture`),
POST /v3/payments/{id}/cancel (only `waiting_for_capture`, like YooKassa), POST /v3/refunds and
GET /v3/refunds/{id}. A payment created with `capture: false` goes `waiting_for_capture` when
paid (`set_status(id, "succeeded")` does that for it), one with `capture: true` `succeeded`.

Receipts (54-FZ) are checked as YooKassa checks them: a customer with an e-mail or a phone,
1-100 items each with description, quantity, amount, vat_code (1-12), payment_subject and
payment_mode, a tax_system_code of 1-6, and the items adding up to the payment's (or the
refund's) amount; a bad one is refused with HTTP 400 and YooKassa's error body
(`type`, `id`, `code: invalid_request`, `description`, `parameter`). A payment with a receipt
has `receipt_registration: pending`; `set_receipt_registration` moves it on.

`fail_next` makes the next N create calls store the payment but answer 500 ("no definite
answer", as YooKassa does), so a retry must reuse the key; `fail_next_capture` does the same
for captures (the capture happens, the answer is a 500). Every request is recorded.
"""

from __future__ import annotations

import json
import re
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
    fail_next_capture: int = 0
    refund_status: str = "succeeded"  # what new refunds answer ("pending": settle later)
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
            if status == "succeeded" and payment.get("_hold"):
                status = "waiting_for_capture"  # the client paid; the shop has to capture
            payment["status"] = status
            payment["paid"] = status in ("succeeded", "waiting_for_capture")
            if status == "canceled":
                payment["cancellation_details"] = {
                    "party": "yoo_money",
                    "reason": reason or "expired_on_confirmation",
                }

    def set_receipt_registration(self, payment_id: str, status: str) -> None:
        with self.state.lock:
            self.state.payments[payment_id]["receipt_registration"] = status

    def set_refund_status(self, refund_id: str, status: str) -> None:
        with self.state.lock:
            self.state.refunds[refund_id]["status"] = status

    def fail_next(self, count: int = 1) -> None:
        self.state.fail_next = count

    def fail_next_capture(self, count: int = 1) -> None:
        self.state.fail_next_capture = count

    def public(self, payment_id: str) -> dict[str, Any]:
        """The payment as the API shows it (a notification's `object`)."""
        return _public(self.state.payments[payment_id])

    def requests(self, method: str, path_prefix: str) -> list[SandboxRequest]:
        return [
            r for r in self.state.requests if r.method == method and r.path.startswith(path_prefix)
        ]


def notification(event: str, payment: dict[str, Any]) -> dict[str, Any]:
    """A notification body as YooKassa sends it."""
    return {"type": "notification", "event": event, "object": _public(payment)}


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
                self._send(200, _public(payment))
            return
        if len(parts) == 3 and parts[:2] == ["v3", "refunds"]:
            refund = self.sandbox_state.refunds.get(parts[2])
            if refund is None:
                self._send(404, _error("not_found", "Refund not found"))
            else:
                self._send(200, refund)
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
                self._send(200, _public(state.by_key[(self.path, key)]))
                return
            if parts == ["v3", "payments"]:
                problem = _check_payment(body)
                if problem:
                    self._send(400, _error("invalid_request", problem[1], problem[0]))
                    return
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
            elif len(parts) == 4 and parts[1] == "payments" and parts[3] == "capture":
                payment = state.payments.get(parts[2])
                if payment is None:
                    self._send(404, _error("not_found", "Payment not found"))
                    return
                if payment["status"] != "waiting_for_capture":
                    self._send(400, _error("invalid_request", "Payment cannot be captured"))
                    return
                amount = body.get("amount") or payment["amount"]
                if _kopecks(amount) != _kopecks(payment["amount"]):
                    self._send(400, _error("invalid_request", "Wrong amount", "amount"))
                    return
                payment["status"] = "succeeded"
                payment["captured_at"] = "2026-01-01T00:00:10.000Z"
                result = payment
                state.by_key[(self.path, key)] = result
                if state.fail_next_capture > 0:
                    state.fail_next_capture -= 1
                    self._send(500, _error("internal_server_error", "Try again later"))
                    return
            elif parts == ["v3", "refunds"]:
                payment = state.payments.get(body.get("payment_id", ""))
                if payment is None or payment["status"] != "succeeded":
                    self._send(400, _error("invalid_request", "Payment is not refundable"))
                    return
                if "receipt" in payment and "receipt" not in body:
                    self._send(400, _error("invalid_request", "Receipt is missing", "receipt"))
                    return
                if "receipt" in body:
                    problem = _check_receipt(body["receipt"], body.get("amount"))
                    if problem:
                        self._send(400, _error("invalid_request", problem[1], problem[0]))
                        return
                result = {
                    "id": f"rf-{uuid.uuid4()}",
                    "payment_id": payment["id"],
                    "status": state.refund_status,
                    "amount": body["amount"],
                    "created_at": "2026-01-01T00:00:00.000Z",
                }
                if "receipt" in body:
                    result["receipt_registration"] = "pending"
                state.refunds[result["id"]] = result
                state.by_key[(self.path, key)] = result
            else:
                self._send(404, _error("not_found", "Unknown path"))
                return
        self._send(200, _public(result))


def _public(payment: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in payment.items() if not key.startswith("_")}


def _kopecks(amount: Any) -> int | None:
    try:
        return round(float(amount["value"]) * 100)
    except (KeyError, TypeError, ValueError):
        return None


def _check_payment(body: dict[str, Any]) -> tuple[str, str] | None:
    """(parameter, description) of the first problem YooKassa would report, or None."""
    if _kopecks(body.get("amount")) is None:
        return "amount", "Amount is required"
    if "receipt" in body:
        return _check_receipt(body["receipt"], body["amount"])
    return None


def _check_receipt(receipt: Any, amount: Any) -> tuple[str, str] | None:
    if not isinstance(receipt, dict):
        return "receipt", "Receipt must be an object"
    customer = receipt.get("customer") or {}
    email, phone = customer.get("email"), customer.get("phone")
    if not email and not phone:
        return "receipt.customer", "Customer email or phone is required"
    if phone and not re.fullmatch(r"\d{7,15}", str(phone)):
        return "receipt.customer.phone", "Phone must be in ITU-T E.164 format"
    tax_system = receipt.get("tax_system_code")
    if tax_system is not None and tax_system not in range(1, 7):
        return "receipt.tax_system_code", "Invalid tax_system_code"
    items = receipt.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= 100:
        return "receipt.items", "Receipt must have 1 to 100 items"
    total = 0.0
    for item in items:
        for name in ("description", "quantity", "amount", "vat_code"):
            if item.get(name) in (None, ""):
                return f"receipt.items.{name}", f"Item {name} is required"
        if len(str(item["description"])) > 128:
            return "receipt.items.description", "Item description is too long"
        if item["vat_code"] not in range(1, 13):
            return "receipt.items.vat_code", "Invalid vat_code"
        if item.get("payment_subject") not in _SUBJECTS:
            return "receipt.items.payment_subject", "Invalid payment_subject"
        if item.get("payment_mode") not in _MODES:
            return "receipt.items.payment_mode", "Invalid payment_mode"
        price = _kopecks(item["amount"])
        try:
            quantity = float(item["quantity"])
        except (TypeError, ValueError):
            return "receipt.items.quantity", "Invalid quantity"
        if price is None or quantity <= 0:
            return "receipt.items.amount", "Invalid item amount"
        total += price * quantity
    if round(total) != _kopecks(amount):
        return "receipt.items.amount", "Sum of receipt items does not match the payment amount"
    return None


_SUBJECTS = {"commodity", "excise", "job", "service", "payment", "another", "composite"}
_MODES = {"full_prepayment", "partial_prepayment", "advance", "full_payment", "partial_payment"}


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
        **({"receipt_registration": "pending"} if "receipt" in body else {}),
        **({"receipt": body["receipt"]} if "receipt" in body else {}),
        "_hold": body.get("capture") is False,
    }


def _error(code: str, description: str, parameter: str = "") -> dict[str, Any]:
    return {
        "type": "error",
        "id": str(uuid.uuid4()),
        "code": code,
        "description": description,
        **({"parameter": parameter} if parameter else {}),
    }
