"""What the HTTP sandboxes share: answers, a keep-alive threading server, a start/stop lifecycle
on a local port, and running one in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any, ClassVar, Protocol, Self, cast

logger = logging.getLogger("sandboxes")

JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Response(status, body, headers=headers or {})


# The peer address of the request being served, per handler thread: a sandbox may record which
# host sent a request (several worker hosts share one sandbox in tests/scaleout).
_serving = threading.local()


def current_client() -> str:
    """The IP address of the client whose request this thread is serving ("" outside one)."""
    return str(getattr(_serving, "client", ""))


def text_response(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    body = text.encode()
    return Response(status, body, content_type="text/plain; charset=utf-8", headers=headers or {})


def free_port() -> int:
    """A local TCP port nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Dispatcher(Protocol):
    def dispatch(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Response: ...


class SandboxHTTPServer(ThreadingHTTPServer):
    """One thread per connection, daemon threads, connections tracked so `stop()` drops idle
    keep-alive connections too."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], dispatcher: Dispatcher, name: str) -> None:
        self.dispatcher = dispatcher
        self.name = name
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
        server = cast(SandboxHTTPServer, self.server)
        _serving.client = str(self.client_address[0])
        try:
            response = server.dispatcher.dispatch(method, self.path, body, dict(self.headers))
        except Exception:
            logger.exception("%s sandbox failed on %s %s", server.name, method, self._path())
            response = json_response(500, {"error": "sandbox error"})
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except OSError:
            # The client timed out or hung up while the sandbox was being slow on purpose.
            self.close_connection = True

    def _path(self) -> str:
        return self.path.split("?")[0]

    def log_message(self, format: str, *args: Any) -> None:
        # A query string may carry a token or a password: log the path only.
        server = cast(SandboxHTTPServer, self.server)
        logger.debug("%s sandbox: %s %s", server.name, self.address_string(), self._path())


class ServedSandbox:
    """A dispatcher served on a local port from a daemon thread: `start()` / `stop()`, or use
    it as a context manager. Subclasses answer requests in `dispatch()`."""

    name: ClassVar[str] = "HTTP"

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host = host
        self._requested_port = port
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def dispatch(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        raise NotImplementedError

    def start(self) -> Self:
        if self._server is not None:
            return self
        server = SandboxHTTPServer((self.host, self._requested_port), self, self.name)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{self.name.lower()}-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.debug("%s sandbox listening on %s", self.name, self.url)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"the {self.name} sandbox is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class Startable(Protocol):
    def start(self) -> object: ...

    def stop(self) -> None: ...


def run_in_foreground(
    sandbox: Startable,
    name: str,
    describe: Callable[[], Sequence[str]],
    write: Callable[[str], None],
) -> None:
    """Start, describe (the first line names the URL), and serve until Ctrl-C or SIGTERM; then
    stop cleanly."""
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    sandbox.start()
    try:
        for line in describe():
            write(line)
        write("Ctrl-C or SIGTERM stops it.")
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        signal.signal(signal.SIGTERM, previous)
        write(f"{name} sandbox stopped.")


class _UrlSandbox(Startable, Protocol):
    @property
    def url(self) -> str: ...


def serve_main(
    argv: Sequence[str] | None,
    *,
    name: str,
    module: str,
    default_port: int,
    setting: str,
    build: Callable[[str, int], _UrlSandbox],
) -> int:
    """The command line of a simple sandbox: `python -m <module> [--host H] [--port P]`."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {module}", description=f"A local {name} sandbox."
    )
    parser.add_argument("--port", type=int, default=default_port, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    options = parser.parse_args(argv)
    sandbox = build(options.host, options.port)

    def describe() -> list[str]:
        return [f"{name} sandbox at {sandbox.url}  ({setting}={sandbox.url})"]

    run_in_foreground(sandbox, name, describe, lambda line: print(line, flush=True))
    return 0


def form_field(form: Mapping[str, Sequence[str]], name: str) -> str:
    """The first value of a parsed form field (`urllib.parse.parse_qs`), or ""."""
    values = form.get(name)
    return values[0] if values else ""
