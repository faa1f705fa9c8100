"""HTTP plumbing of the sandbox: responses, a keep-alive threading server and its handler."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, cast

logger = logging.getLogger("vendista.sandbox")

JSON_TYPE = "application/json; charset=utf-8"
# What a proxy in front of the API answers when the backend is down: not JSON.
NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Response(status, body, headers=headers or {})


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """`{"success": false, "error": ...}`; a 502 is nginx's HTML page, as a real proxy sends."""
    if status == 502:
        return Response(status, NGINX_502, content_type="text/html", headers=headers or {})
    return json_response(status, {"success": False, "error": message}, headers)


class Dispatcher(Protocol):
    def dispatch(self, method: str, target: str, body: bytes = b"") -> Response: ...


class SandboxHTTPServer(ThreadingHTTPServer):
    """One thread per connection, daemon threads, connections tracked so `stop()` drops idle
    keep-alive connections too."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, SandboxHandler)

    def close_connections(self) -> None:
        with self.connections_lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self.connections.clear()


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a requests.Session reuses its connection
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    # Headers and body are two writes: without TCP_NODELAY a small body waits for the
    # client's delayed ACK (~40 ms per request).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        server = cast(SandboxHTTPServer, self.server)
        with server.connections_lock:
            server.connections.add(self.connection)

    def finish(self) -> None:
        server = cast(SandboxHTTPServer, self.server)
        with server.connections_lock:
            server.connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        try:
            dispatcher = cast(SandboxHTTPServer, self.server).dispatcher
            response = dispatcher.dispatch(method, self.path, body)
        except Exception:
            logger.exception("Vendista sandbox failed on %s %s", method, self.path.split("?")[0])
            response = error_response(500, "sandbox error")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line carries the token in its query string: log the path only.
        logger.debug("%s %s", self.address_string(), self.path.split("?")[0])
