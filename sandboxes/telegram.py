"""A local stand-in for the Telegram Bot API, for tests, the benchmark and offline development.

    sandbox = TelegramSandbox().start()          # or: python -m sandboxes.telegram --port 8081
    settings.TELEGRAM_API_URL = sandbox.url
    sandbox.fail_429(count=1, retry_after=2)     # the next sendMessage answers 429
    sandbox.block_chat(42)                       # 403 "bot was blocked by the user"
    sandbox.fail_5xx(count=3)                    # the next three answer 502
    sandbox.hang_after(1)                        # accept (record) later messages, never answer
    sandbox.inject_update(chat_id=42, text="/start CODE")

It answers `sendMessage` (with inline keyboards: callback, url and web-app buttons, checked as
Telegram checks them), `sendPhoto` (multipart upload), `getFile` and file downloads,
`answerCallbackQuery`, `getUpdates`, `getMe`, `setWebhook` / `deleteWebhook`: with a webhook set,
each injected update is POSTed to it with the `X-Telegram-Bot-Api-Secret-Token` header (and
`getUpdates` answers 409, as Telegram does). It records every accepted message with its arrival
time, enforces no limit itself, and lets callers measure rates afterwards.

    sandbox.inject_callback(chat_id=42, data="fin:today")    # a press on an inline button
    sandbox.inject_photo(chat_id=42, content=b"...jpeg...")  # a photo the person sent
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
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from sandboxes.base import run_in_foreground
from sandboxes.telegram_formats import markup, markup_error, multipart

_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>\w+)$")
_FILE_PATH = re.compile(r"^/file/bot(?P<token>[^/]+)/photos/(?P<file_id>\w+)\.jpg$")


@dataclass(frozen=True)
class SentMessage:
    chat_id: str
    text: str
    at: float
    message_id: int
    parse_mode: str = ""
    reply_markup: dict[str, Any] | None = None


@dataclass(frozen=True)
class SentPhoto:
    chat_id: str
    content: bytes
    filename: str
    caption: str
    message_id: int


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
            self.webhook_deliveries: list[dict[str, Any]] = []
            self.callback_answers: list[dict[str, Any]] = []
            self.photos: list[SentPhoto] = []
            self.files: dict[str, bytes] = {}
            self._open_queries: set[str] = set()
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
        """An incoming text message (e.g. `/start <code>`), for getUpdates or the webhook."""
        message = self._message(chat_id, username, chat_type)
        message["text"] = text
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._push({"message": message})

    def inject_callback(
        self, *, chat_id: int, data: str, username: str = "tester", message_id: int = 1
    ) -> dict[str, Any]:
        """A press on an inline keyboard button whose `callback_data` is `data`."""
        with self._lock:
            query_id = f"cq{self._next_update_id}"
            self._open_queries.add(query_id)
        message = self._message(chat_id, username, "private")
        message.update(message_id=message_id, text="…")
        sender = dict(message["from"])
        return self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": sender,
                    "message": message,
                    "chat_instance": str(chat_id),
                    "data": data,
                }
            }
        )

    def inject_photo(
        self, *, chat_id: int, content: bytes, caption: str = "", username: str = "tester"
    ) -> dict[str, Any]:
        """A photo the person sent: its file can be fetched with getFile and the file URL."""
        with self._lock:
            file_id = f"photo{len(self.files) + 1}"
            self.files[file_id] = content
        message = self._message(chat_id, username, "private")
        message["photo"] = [
            {
                "file_id": file_id,
                "file_unique_id": file_id,
                "width": 800,
                "height": 600,
                "file_size": len(content),
            }
        ]
        if caption:
            message["caption"] = caption
        return self._push({"message": message})

    def _message(self, chat_id: int, username: str, chat_type: str) -> dict[str, Any]:
        return {
            "message_id": self._next_update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type, "username": username},
            "from": {"id": chat_id, "is_bot": False, "first_name": username, "username": username},
        }

    def _push(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._updates_changed:
            update = {"update_id": self._next_update_id, **body}
            self._next_update_id += 1
            webhook = dict(self.webhook)
            if not webhook.get("url"):
                self.updates.append(update)
                self._updates_changed.notify_all()
                return update
        self._post_to_webhook(webhook, update)
        return update

    def _post_to_webhook(self, webhook: dict[str, Any], update: dict[str, Any]) -> None:
        """Deliver as Telegram does: a JSON POST with the secret header; record the answer."""
        request = urllib.request.Request(  # noqa: S310 - the URL setWebhook accepted
            str(webhook["url"]),
            data=json.dumps(update).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        if webhook.get("secret_token"):
            request.add_header("X-Telegram-Bot-Api-Secret-Token", str(webhook["secret_token"]))
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            status = 0
        with self._lock:
            self.webhook_deliveries.append({"update_id": update["update_id"], "status": status})

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
        if method == "sendPhoto":
            return self._send_photo(payload)
        if method == "getFile":
            file_id = str(payload.get("file_id", ""))
            if file_id not in self.files:
                return 400, _error(400, "Bad Request: invalid file_id")
            result = {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_path": f"photos/{file_id}.jpg",
            }
            return 200, {"ok": True, "result": result}
        if method == "answerCallbackQuery":
            query_id = str(payload.get("callback_query_id", ""))
            with self._lock:
                if query_id not in self._open_queries:
                    return 400, _error(
                        400,
                        "Bad Request: query is too old and response timeout expired or query "
                        "ID is invalid",
                    )
                self._open_queries.discard(query_id)
                self.callback_answers.append(dict(payload))
            return 200, {"ok": True, "result": True}
        if method == "getUpdates":
            if self.webhook.get("url"):
                return 409, _error(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use "
                    "deleteWebhook to delete the webhook first",
                )
            return 200, {"ok": True, "result": self._get_updates(payload)}
        if method == "getMe":
            me = {"id": 1, "is_bot": True, "first_name": "Sandbox", "username": "sandbox_bot"}
            return 200, {"ok": True, "result": me}
        if method == "setWebhook":
            url = str(payload.get("url", ""))
            if url and not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
                return 400, _error(400, "Bad Request: bad webhook: HTTPS URL must be provided")
            with self._lock:
                self.webhook = dict(payload) if url else {}
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
                problem = markup_error(payload.get("reply_markup"))
                if not payload.get("text"):
                    status, body = 400, _error(400, "Bad Request: message text is empty")
                elif problem:
                    status, body = 400, _error(400, f"Bad Request: {problem}")
                else:
                    message = SentMessage(
                        chat_id=chat,
                        text=str(payload["text"]),
                        at=now,
                        message_id=self._next_message_id,
                        parse_mode=str(payload.get("parse_mode", "")),
                        reply_markup=markup(payload.get("reply_markup")),
                    )
                    self._next_message_id += 1
                    self.messages.append(message)
                    body = {"ok": True, "result": {"message_id": message.message_id}}
                    if self._hang_after is not None and len(self.messages) > self._hang_after:
                        hang = self._release
        if hang is not None:
            hang.wait()
        return status, body

    def _send_photo(self, payload: dict[str, Any]) -> tuple[int, Any]:
        chat = str(payload.get("chat_id", ""))
        photo = payload.get("photo")
        with self._lock:
            status, body = self._fault_for(chat)
            self.attempts.append(Attempt(chat_id=chat, at=time.time(), status=status))
            if status != 200:
                return status, body
            if not isinstance(photo, tuple) or not photo[1]:
                return 400, _error(400, "Bad Request: there is no photo in the request")
            sent = SentPhoto(
                chat_id=chat,
                content=photo[1],
                filename=photo[0],
                caption=str(payload.get("caption", "")),
                message_id=self._next_message_id,
            )
            self._next_message_id += 1
            self.photos.append(sent)
        return 200, {"ok": True, "result": {"message_id": sent.message_id}}

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
        elif action == "callbacks":
            return 200, self.inject_callback(**payload)
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
            content_type = self.headers.get("Content-Type", "")
            if content_type.startswith("multipart/form-data"):
                return multipart(content_type, raw)
            try:
                data = json.loads(raw)
            except ValueError:
                # Bot API methods also take form fields (curl -d without a JSON body).
                if content_type.startswith("application/x-www-form-urlencoded"):
                    return dict(parse_qsl(raw.decode()))
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
            file_match = _FILE_PATH.match(path)
            if file_match is not None:
                content = sandbox.files.get(file_match["file_id"])
                if content is None:
                    self._answer(404, _error(404, "Not Found"))
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
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
