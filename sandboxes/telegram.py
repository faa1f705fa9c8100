"""A local stand-in for the Telegram Bot API, for tests, the benchmark and offline development.

    sandbox = TelegramSandbox().start()          # or: python -m sandboxes.telegram --port 8081
    settings.TELEGRAM_API_URL = sandbox.url
    sandbox.fail_429(count=1, retry_after=2)     # the next sendMessage answers 429
    sandbox.block_chat(42)                       # 403 "bot was blocked by the user"
    sandbox.fail_5xx(count=3)                    # the next three answer 502
    sandbox.hang_after(1)                        # accept (record) later messages, never answer
    sandbox.inject_update(chat_id=42, text="/start CODE")

It answers `sendMessage`, `getUpdates`, `getMe`, `setWebhook`, records every accepted message
with its arrival time, enforces no limit itself, and lets callers measure rates afterwards.
The same switches are reachable over HTTP: `POST /_sandbox/faults` with a JSON object
(`{"fail_429": {"count": 1, "retry_after": 2}, "block_chat": [42], "fail_5xx": {"count": 3}}`),
`POST /_sandbox/updates` (`{"chat_id": 42, "text": "/start CODE"}`), `GET /_sandbox/messages`,
`POST /_sandbox/reset`. Run one: `python -m sandboxes.telegram --port 8081` and point
`TELEGRAM_API_URL` at it.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandboxes.base import run_in_foreground

_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>\w+)$")


@dataclass(frozen=True)
class SentMessage:
    chat_id: str
    text: str
    at: float
    message_id: int
    parse_mode: str = ""


@dataclass(frozen=True)
class Attempt:
    chat_id: str
    at: float
    status: int


class TelegramSandbox:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._updates_changed = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.reset()

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> TelegramSandbox:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Forget messages, updates and faults."""
        with self._lock:
            self.messages: list[SentMessage] = []
            self.attempts: list[Attempt] = []
            self.updates: list[dict[str, Any]] = []
            self.webhook: dict[str, Any] = {}
            self._next_update_id = 1
            self._next_message_id = 1
            self._clear_faults()

    def clear_faults(self) -> None:
        with self._lock:
            self._clear_faults()

    def _clear_faults(self) -> None:
        self._429: list[dict[str, Any]] = []
        self._5xx: dict[str, Any] = {"count": 0, "status": 502}
        self._blocked: set[str] = set()
        self._unknown: set[str] = set()
        self._hang_after: int | None = None
        self._delay = 0.0
        self._release.set()
        self._release = threading.Event()

    # --- fault switches ------------------------------------------------------------------------

    def fail_429(
        self, count: int = 1, retry_after: float = 1, chat_id: int | str | None = None
    ) -> None:
        """The next `count` sendMessage calls (to `chat_id`, or to any chat) answer 429."""
        with self._lock:
            chat = None if chat_id is None else str(chat_id)
            self._429.append({"count": count, "retry_after": retry_after, "chat": chat})

    def fail_5xx(self, count: int = 1, status: int = 502) -> None:
        """The next `count` sendMessage calls answer `status` (count -1: until cleared)."""
        with self._lock:
            self._5xx = {"count": count, "status": status}

    def block_chat(self, *chat_ids: int | str) -> None:
        """These chats answer 403 "bot was blocked by the user"."""
        with self._lock:
            self._blocked.update(str(chat) for chat in chat_ids)

    def unknown_chat(self, *chat_ids: int | str) -> None:
        """These chats answer 400 "chat not found"."""
        with self._lock:
            self._unknown.update(str(chat) for chat in chat_ids)

    def hang_after(self, accepted: int | None) -> None:
        """After `accepted` more messages, record each further message (Telegram took it) but
        hold its answer until `release()`: a client killed meanwhile never learns it was sent."""
        with self._lock:
            self._hang_after = None if accepted is None else len(self.messages) + accepted

    def release(self) -> None:
        self._release.set()

    def slow(self, seconds: float) -> None:
        """Answer every call `seconds` late."""
        with self._lock:
            self._delay = seconds

    # --- updates -------------------------------------------------------------------------------

    def inject_update(
        self, *, chat_id: int, text: str, username: str = "tester", chat_type: str = "private"
    ) -> dict[str, Any]:
        """Queue an incoming message for getUpdates (e.g. `/start <code>`)."""
        with self._updates_changed:
            update = {
                "update_id": self._next_update_id,
                "message": {
                    "message_id": self._next_update_id,
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": chat_type, "username": username},
                    "from": {"id": chat_id, "is_bot": False, "username": username},
                    "text": text,
                },
            }
            self._next_update_id += 1
            self.updates.append(update)
            self._updates_changed.notify_all()
            return update

    # --- measurements --------------------------------------------------------------------------

    def sent_to(self, chat_id: int | str) -> list[SentMessage]:
        with self._lock:
            return [m for m in self.messages if m.chat_id == str(chat_id)]

    def max_per_chat_in_window(self, window: float = 1.0) -> int:
        """The most messages any one chat received within `window` seconds."""
        per_chat: dict[str, list[float]] = defaultdict(list)
        with self._lock:
            for message in self.messages:
                per_chat[message.chat_id].append(message.at)
        return max((_max_in_window(times, window) for times in per_chat.values()), default=0)

    def max_global_in_window(self, window: float = 1.0) -> int:
        with self._lock:
            times = [message.at for message in self.messages]
        return _max_in_window(times, window)

    def min_gap_per_chat(self) -> float | None:
        """The shortest time between two messages to the same chat."""
        per_chat: dict[str, list[float]] = defaultdict(list)
        with self._lock:
            for message in self.messages:
                per_chat[message.chat_id].append(message.at)
        gaps = [
            b - a
            for times in per_chat.values()
            for a, b in zip(sorted(times), sorted(times)[1:], strict=False)
        ]
        return min(gaps) if gaps else None

    # --- the API -------------------------------------------------------------------------------

    def handle(self, token: str, method: str, payload: dict[str, Any]) -> tuple[int, Any]:
        if self._delay:
            time.sleep(self._delay)
        if method == "sendMessage":
            return self._send_message(payload)
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(payload)}
        if method == "getMe":
            result = {"id": 1, "is_bot": True, "first_name": "Sandbox", "username": "sandbox_bot"}
            return 200, {"ok": True, "result": result}
        if method == "setWebhook":
            with self._lock:
                self.webhook = dict(payload)
            return 200, {"ok": True, "result": True}
        if method == "deleteWebhook":
            with self._lock:
                self.webhook = {}
            return 200, {"ok": True, "result": True}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    def _send_message(self, payload: dict[str, Any]) -> tuple[int, Any]:
        chat = str(payload.get("chat_id", ""))
        now = time.time()
        hang: threading.Event | None = None
        with self._lock:
            status, body = self._fault_for(chat)
            self.attempts.append(Attempt(chat_id=chat, at=now, status=status))
            if status == 200:
                if not payload.get("text"):
                    status, body = 400, _error(400, "Bad Request: message text is empty")
                else:
                    message = SentMessage(
                        chat_id=chat,
                        text=str(payload["text"]),
                        at=now,
                        message_id=self._next_message_id,
                        parse_mode=str(payload.get("parse_mode", "")),
                    )
                    self._next_message_id += 1
                    self.messages.append(message)
                    body = {"ok": True, "result": {"message_id": message.message_id}}
                    if self._hang_after is not None and len(self.messages) > self._hang_after:
                        hang = self._release
        if hang is not None:
            hang.wait()
        return status, body

    def _fault_for(self, chat: str) -> tuple[int, Any]:
        if chat in self._blocked:
            return 403, _error(403, "Forbidden: bot was blocked by the user")
        if chat in self._unknown:
            return 400, _error(400, "Bad Request: chat not found")
        for rule in self._429:
            if rule["count"] != 0 and rule["chat"] in (None, chat):
                rule["count"] -= 1
                body = _error(429, f"Too Many Requests: retry after {rule['retry_after']}")
                body["parameters"] = {"retry_after": rule["retry_after"]}
                return 429, body
        if self._5xx["count"] != 0:
            self._5xx["count"] -= 1
            return self._5xx["status"], _error(self._5xx["status"], "Bad Gateway")
        return 200, None

    def _get_updates(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(payload.get("offset") or 0)
        deadline = time.time() + min(float(payload.get("timeout") or 0), 2.0)
        with self._updates_changed:
            if offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.time() < deadline:
                self._updates_changed.wait(max(deadline - time.time(), 0.01))
            return list(self.updates)

    def control(self, action: str, payload: dict[str, Any]) -> tuple[int, Any]:
        """The HTTP face of the switches (`/_sandbox/<action>`)."""
        if action == "reset":
            self.reset()
        elif action == "faults":
            if "fail_429" in payload:
                self.fail_429(**payload["fail_429"])
            if "fail_5xx" in payload:
                self.fail_5xx(**payload["fail_5xx"])
            if "block_chat" in payload:
                self.block_chat(*payload["block_chat"])
            if "unknown_chat" in payload:
                self.unknown_chat(*payload["unknown_chat"])
            if "hang_after" in payload:
                self.hang_after(payload["hang_after"])
            if "slow" in payload:
                self.slow(float(payload["slow"]))
            if payload.get("clear"):
                self.clear_faults()
        elif action == "release":
            self.release()
        elif action == "updates":
            return 200, self.inject_update(**payload)
        elif action == "messages":
            with self._lock:
                return 200, [asdict(m) for m in self.messages]
        else:
            return 404, {"error": f"unknown action {action}"}
        return 200, {"ok": True}


def _error(code: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description}


def _max_in_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def _handler_for(sandbox: TelegramSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw:
                return {}
            try:
                data = json.loads(raw)
            except ValueError:
                return {}
            return data if isinstance(data, dict) else {}

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _dispatch(self) -> None:
            payload = self._body()
            path = self.path.split("?", 1)[0]
            if path.startswith("/_sandbox/"):
                self._answer(*sandbox.control(path.removeprefix("/_sandbox/"), payload))
                return
            match = _PATH.match(path)
            if match is None:
                self._answer(404, _error(404, "Not Found"))
                return
            self._answer(*sandbox.handle(match["token"], match["method"], payload))

        do_GET = _dispatch
        do_POST = _dispatch

    return Handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandboxes.telegram", description="A local Telegram Bot API sandbox."
    )
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    options = parser.parse_args(argv)
    sandbox = TelegramSandbox(options.host, options.port)

    def describe() -> list[str]:
        return [f"Telegram sandbox at {sandbox.url}  (TELEGRAM_API_URL={sandbox.url})"]

    run_in_foreground(sandbox, "Telegram", describe, lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
