"""core.net.client_ip: the right-most untrusted hop of X-Forwarded-For behind trusted proxies;
the header ignored from any other peer and when no proxy is configured."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from core.net import client_ip


def _request(peer: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)  # type: ignore[arg-type]


def test_without_trusted_proxies_the_header_is_ignored(settings) -> None:
    settings.TRUSTED_PROXIES = []
    assert client_ip(_request("10.0.0.1", "185.71.76.10")) == "10.0.0.1"


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("10.0.0.1", "203.0.113.7", "203.0.113.7"),
        # the client wrote the left part: the right-most untrusted hop is the real one
        ("10.0.0.1", "185.71.76.10, 203.0.113.7", "203.0.113.7"),
        # two proxies of ours in a row
        ("10.0.0.1", "203.0.113.7, 10.0.0.2", "203.0.113.7"),
        # an untrusted peer: its header proves nothing
        ("198.51.100.1", "185.71.76.10", "198.51.100.1"),
        # garbage in the header: the last proxy's view stands
        ("10.0.0.1", "not-an-ip", "10.0.0.1"),
        ("10.0.0.1", "", "10.0.0.1"),
        ("10.0.0.1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_right_most_untrusted_hop(settings, peer, forwarded, expected) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert client_ip(_request(peer, forwarded)) == expected
