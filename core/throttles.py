"""Request throttles shared by the APIs: per credential and per client address, counted in the
Redis cache so every web process shares them. The address is `core.net.client_ip` (never a
client-supplied header unless it came through a trusted proxy)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import throttling
from rest_framework.request import Request

from core.net import client_ip


class AddressRateThrottle(throttling.SimpleRateThrottle):
    """Requests per client address; `rate_setting` names the setting holding the rate."""

    scope = "staff_ip"
    rate_setting = "STAFF_IP_THROTTLE_RATE"

    def get_rate(self) -> str:
        rate: str = getattr(settings, self.rate_setting)
        return rate

    def get_ident(self, request: Request) -> str:
        return client_ip(request) or "unknown"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class StaffTokenRateThrottle(throttling.SimpleRateThrottle):
    """Requests per staff credential (API token, else the signed-in user)."""

    scope = "staff_token"

    def get_rate(self) -> str:
        rate: str = settings.STAFF_THROTTLE_RATE
        return rate

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = getattr(request.auth, "pk", None)
        if token is not None and not isinstance(token, int):
            ident = f"token-{str(token)[:8]}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            return None  # anonymous: the address throttle counts it
        return self.cache_format % {"scope": self.scope, "ident": ident}
