"""Kiosk authentication, the access rule of kiosk data, and throttling.

A kiosk sends `Authorization: Kiosk <token>`. The token is compared by its SHA-256 hash, so the
database never holds a usable token. `request.user` is then a `KioskPrincipal` and
`request.auth` the `Kiosk`. Staff of the kiosk's owner (a `Membership`, with `Token` or session
auth) may read the owner's kiosk data; only the kiosk itself may change it.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions, permissions, serializers, throttling
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from core.api import JSONOnlyNegotiation
from core.parsers import check_query_text
from core.query import UNKNOWN as UNKNOWN_QUERY_PARAMETER
from core.ratelimit import Bucket
from core.redis import get_redis
from core.throttles import AddressRateThrottle, BucketThrottle, address_bucket, bucket
from kiosk.models import LOCAL_TOKEN_CACHE as _local
from kiosk.models import Kiosk, hash_token, token_cache_key
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
        kiosk = kiosk_for_token(raw)
        if kiosk is None:
            raise exceptions.AuthenticationFailed(_("Invalid kiosk token."))
        return KioskPrincipal(kiosk), kiosk

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


_LOCAL_MAX = 4096


def kiosk_for_token(raw: str) -> Kiosk | None:
    """The active kiosk of a raw token: from this process's memory (a few seconds), the Redis
    cache (one round trip, no query) or the database. A kiosk's save (token rotation,
    deactivation) drops the Redis entry and this process's at once; other processes notice
    within `KIOSK_AUTH_LOCAL_CACHE_S`, and the Redis timeout bounds any other staleness."""
    token_hash = hash_token(raw)
    now = time.monotonic()
    local = _local.get(token_hash)
    if local is not None and local[0] > now:
        return local[1]
    key = token_cache_key(token_hash)
    client = get_redis()
    cached = client.get(key) if settings.KIOSK_AUTH_CACHE_S else None
    kiosk: Kiosk | None
    if isinstance(cached, bytes):
        kiosk = pickle.loads(cached)  # noqa: S301 - our own Redis and rows
    else:
        kiosk = (
            Kiosk.objects.select_related("owner")
            .filter(token_hash=token_hash, is_active=True)
            .first()
        )
        if kiosk is not None and settings.KIOSK_AUTH_CACHE_S:
            client.set(key, pickle.dumps(kiosk), ex=settings.KIOSK_AUTH_CACHE_S)
    if kiosk is not None and settings.KIOSK_AUTH_LOCAL_CACHE_S:
        if len(_local) >= _LOCAL_MAX:
            _local.clear()
        _local[token_hash] = (now + settings.KIOSK_AUTH_LOCAL_CACHE_S, kiosk)
    return kiosk


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


class KioskRateThrottle(BucketThrottle):
    """Per kiosk token (or per staff user) and per client address, in one Redis round trip."""

    def buckets(self, request: Request) -> list[Bucket]:
        buckets = [address_bucket(request, "kiosk_ip", settings.KIOSK_IP_THROTTLE_RATE)]
        kiosk = request_kiosk(request)
        if kiosk is not None:
            ident = f"kiosk-{kiosk.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            return buckets
        return [bucket(f"throttle_kiosk:{ident}", settings.KIOSK_THROTTLE_RATE), *buckets]


class IPRateThrottle(AddressRateThrottle):
    """Requests per client address (`core.net.client_ip`), in Redis (the webhook)."""

    scope = "kiosk_ip"
    rate_setting = "KIOSK_IP_THROTTLE_RATE"


KIOSK_AUTHENTICATION: tuple[type[authentication.BaseAuthentication], ...] = (
    KioskTokenAuthentication,
    authentication.TokenAuthentication,
    authentication.SessionAuthentication,
)
KIOSK_THROTTLES: tuple[type[throttling.BaseThrottle], ...] = (KioskRateThrottle,)


PAGE_PARAMETERS = frozenset({"page", "page_size"})


class KioskAPIView(APIView):
    """Authentication, permission and throttles shared by every kiosk endpoint, and strict
    query parameters: each view declares its own in `query_serializer_class` (also its OpenAPI
    parameters); an undeclared or malformed one is a 400 naming it."""

    authentication_classes = KIOSK_AUTHENTICATION
    permission_classes: Sequence[Any] = (KioskOrOwnerStaff,)
    # The kiosk's screen speaks JSON only (the browsable API is for the staff API).
    renderer_classes: Sequence[Any] = (JSONRenderer,)
    content_negotiation_class = JSONOnlyNegotiation
    throttle_classes = KIOSK_THROTTLES
    query_serializer_class: type[serializers.Serializer[Any]] | None = None
    # The validated query parameters (empty until `initial`, e.g. for the schema generator).
    query: Mapping[str, Any] = MappingProxyType({})

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        params = request.query_params
        check_query_text(params)
        serializer = _query_serializer(self.query_serializer_class)
        declared = set(PAGE_PARAMETERS if getattr(self, "pagination_class", None) else ())
        if serializer is not None:
            declared |= set(serializer.fields)
        unknown = sorted(set(params) - declared)
        if unknown:
            raise exceptions.ValidationError(
                {name[:50]: [UNKNOWN_QUERY_PARAMETER] for name in unknown[:10]}
            )
        self.query = {}
        if serializer is not None:
            # `is_valid()` without building the serializer: one instance per class serves every
            # request (its fields keep no per-call state); errors are the same 400.
            self.query = dict(serializer.run_validation(params.dict()))


_query_serializers: dict[type[Any], serializers.Serializer[Any]] = {}


def _query_serializer(
    cls: type[serializers.Serializer[Any]] | None,
) -> serializers.Serializer[Any] | None:
    if cls is None:
        return None
    serializer = _query_serializers.get(cls)
    if serializer is None:
        serializer = _query_serializers.setdefault(cls, cls())
    return serializer
