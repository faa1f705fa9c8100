"""The client's address behind our own reverse proxies.

`TRUSTED_PROXIES` lists the proxies in front of the app (addresses or networks). A request from
one of them is attributed to the right-most address of `X-Forwarded-For` that is not a trusted
proxy: everything left of it was written by the client and proves nothing. A request from any
other peer is attributed to the peer itself, and with no proxy configured the header is ignored.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request: Any) -> str | None:
    """The client's address for throttles, the webhook check and the audit log."""
    if request is None:
        return None
    meta = request.META
    peer: str | None = meta.get("REMOTE_ADDR") or None
    proxies = tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ())
    if not proxies or peer is None:
        return peer
    networks = _networks(proxies)
    if not _trusted(peer, networks):
        return peer
    client = peer
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage from the client: the last proxy's view stands
        client = hop
        if not _trusted(hop, networks):
            break
    return client
