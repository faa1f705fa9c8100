"""Small helpers for tests that start servers of their own: a free port, and waiting for one
to answer."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_answering(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1
) -> Any:
    """Poll `condition` until it returns something truthy (a refused connection counts as not
    yet); fail after `timeout` seconds naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if result := condition():
                return result
        except requests.RequestException:
            pass
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
