"""Kiosk authentication, the access rule of kiosk data, and throttling.

A kiosk sends `Authorization: Kiosk <token>`. The token is compared by its SHA-256 hash, so the
database never holds a usable token. `request.user` is then a `KioskPrincipal` and
`request.auth` the `Kiosk`. Staff of the kiosk's owner (a `Membership`, with `Token` or session
auth) may read the owner's kiosk data; only the kiosk itself may change it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.request import Request
from rest_framework.views import APIView

from kiosk.models import Kiosk, hash_token
from tenancy.permissions import resolve_membership

KEYWORD = "Kiosk"


@dataclass(frozen=True)
class KioskPrincipal:
    """Stands in for `request.user` when a kiosk calls."""

    kiosk: Kiosk
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    is_anonymous: bool = False
    pk: None = None

    def get_username(self) -> str:
        return f"kiosk:{self.kiosk.pk}"

    def __str__(self) -> str:
        return self.get_username()


class KioskTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Kiosk <token>`; other schemes are left to the next authenticator."""

    def authenticate(self, request: Request) -> tuple[KioskPrincipal, Kiosk] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid kiosk token header."))
        try:
            raw = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid kiosk token.")) from None
        kiosk = (
            Kiosk.objects.select_related("owner")
            .filter(token_hash=hash_token(raw), is_active=True)
            .first()
        )
        if kiosk is None:
            raise exceptions.AuthenticationFailed(_("Invalid kiosk token."))
        return KioskPrincipal(kiosk), kiosk

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


def request_kiosk(request: Request) -> Kiosk | None:
    return request.auth if isinstance(request.auth, Kiosk) else None


class KioskOrOwnerStaff(permissions.BasePermission):
    """A kiosk may do everything with its own data; the owner's staff may read it."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request_kiosk(request) is not None:
            return True
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method not in permissions.SAFE_METHODS:
            raise exceptions.PermissionDenied(_("Only the kiosk itself may change its data."))
        request.membership = resolve_membership(request)  # type: ignore[attr-defined]
        return True


class IsKiosk(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return request_kiosk(request) is not None


def scope_to_caller(queryset: QuerySet[Any], request: Request, kiosk_field: str) -> QuerySet[Any]:
    """Only the calling kiosk's rows, or the rows of every kiosk of the staff member's owner."""
    kiosk = request_kiosk(request)
    if kiosk is not None:
        return queryset.filter(**{kiosk_field: kiosk})
    membership = getattr(request, "membership", None)
    if membership is None:
        return queryset.none()
    return queryset.filter(**{f"{kiosk_field}__owner_id": membership.owner_id})


class KioskRateThrottle(throttling.SimpleRateThrottle):
    """Requests per kiosk token (or per user for staff), counted in the Redis cache."""

    scope = "kiosk"

    def get_rate(self) -> str:
        rate: str = settings.KIOSK_THROTTLE_RATE
        return rate

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        kiosk = request_kiosk(request)
        if kiosk is not None:
            ident = f"kiosk-{kiosk.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class IPRateThrottle(throttling.SimpleRateThrottle):
    """Requests per client IP, counted in the Redis cache (webhooks included)."""

    scope = "kiosk_ip"

    def get_rate(self) -> str:
        rate: str = settings.KIOSK_IP_THROTTLE_RATE
        return rate

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


KIOSK_AUTHENTICATION: tuple[type[authentication.BaseAuthentication], ...] = (
    KioskTokenAuthentication,
    authentication.TokenAuthentication,
    authentication.SessionAuthentication,
)
KIOSK_THROTTLES: tuple[type[throttling.BaseThrottle], ...] = (KioskRateThrottle, IPRateThrottle)


class KioskAPIView(APIView):
    """Authentication, permission and throttles shared by every kiosk endpoint."""

    authentication_classes = KIOSK_AUTHENTICATION
    permission_classes: Sequence[Any] = (KioskOrOwnerStaff,)
    throttle_classes = KIOSK_THROTTLES
