"""Kiosk API: the kiosk's own configuration and its client sessions.

Authentication: `Authorization: Kiosk <token>` (see kiosk/auth.py). The owner's staff may read
with their usual `Token`/session auth.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from audit.services import Actor
from core.api import INT_MAX
from core.pii import mask_email, mask_phone
from kiosk import services
from kiosk.auth import IsKiosk, KioskAPIView, request_kiosk, scope_to_caller
from kiosk.models import Kiosk, Session, SessionStatus, SessionType
from payments.services import price_for

E164_RE = re.compile(r"^\+[1-9]\d{7,14}$")


def normalize_phone(value: str) -> str:
    """E.164: "+7 (916) 123-45-67" → "+79161234567"; a Russian 8XXXXXXXXXX becomes +7XXXXXXXXXX."""
    compact = re.sub(r"[\s().-]", "", value)
    if re.fullmatch(r"8\d{10}", compact):
        compact = "+7" + compact[1:]
    if not E164_RE.match(compact):
        raise serializers.ValidationError("Телефон в формате E.164, например +79161234567.")
    return compact


class ContactSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32)

    def validate_phone(self, value: str) -> str:
        return normalize_phone(value) if value else ""


def _validate_metadata(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise serializers.ValidationError("Must be a JSON object.")
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > settings.KIOSK_SESSION_METADATA_MAX_BYTES:
        raise serializers.ValidationError(
            f"At most {settings.KIOSK_SESSION_METADATA_MAX_BYTES} bytes of JSON, got {size}."
        )
    return value


class SessionSerializer(serializers.ModelSerializer):
    contact = serializers.SerializerMethodField()
    kiosk_id = serializers.IntegerField(read_only=True)
    auto_reset_on_timeout = serializers.SerializerMethodField()

    class Meta:
        model = Session
        fields = [
            "id",
            "kiosk_id",
            "type",
            "status",
            "contact",
            "metadata",
            "ttl_ms",
            "expires_at",
            "created_at",
            "updated_at",
            "completed_at",
            "expired_at",
            "auto_reset_on_timeout",
        ]
        read_only_fields = fields

    def get_contact(self, session: Session) -> dict[str, str]:
        return {"email": session.contact_email, "phone": session.contact_phone}

    def get_auto_reset_on_timeout(self, session: Session) -> bool:
        return bool(settings.KIOSK_AUTO_RESET_ON_TIMEOUT)


class SessionCreateSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=SessionType.choices)
    contact = ContactSerializer()
    metadata = serializers.JSONField(required=False, default=dict)
    ttl_ms = serializers.IntegerField(required=False, min_value=10_000, max_value=24 * 3600 * 1000)

    def validate_metadata(self, value: Any) -> dict[str, Any]:
        return _validate_metadata(value)

    def validate_contact(self, value: dict[str, str]) -> dict[str, str]:
        if not (value.get("email") or value.get("phone")):
            raise serializers.ValidationError("Укажите e-mail или телефон.")
        return value


# Built once per process. A serializer builds its fields on every instance (a ModelSerializer from
# the model: about half a millisecond for these two, a third of a session create's own work);
# the fields keep no per-call state, so one instance serves every request and thread.
_SESSION_DOCUMENT = SessionSerializer()
_SESSION_CREATE = SessionCreateSerializer()


def session_document(session: Session) -> dict[str, Any]:
    """`SessionSerializer(session).data`, without building the serializer."""
    return dict(_SESSION_DOCUMENT.to_representation(session))


class SessionUpdateSerializer(serializers.Serializer):
    contact = ContactSerializer(required=False)
    metadata = serializers.JSONField(required=False)

    def validate_metadata(self, value: Any) -> dict[str, Any]:
        return _validate_metadata(value)


def _conflict(exc: services.SessionConflict) -> Response:
    return Response(
        {"detail": str(exc), "code": "session_" + exc.session.status, "status": exc.session.status},
        status=status.HTTP_409_CONFLICT,
    )


class MaskedSessionSerializer(SessionSerializer):
    """A session as a kiosk sees it in a list: the client's contacts masked."""

    def get_contact(self, session: Session) -> dict[str, str]:
        return {
            "email": mask_email(session.contact_email),
            "phone": mask_phone(session.contact_phone),
        }


class SessionListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=SessionStatus.choices, required=False)
    type = serializers.ChoiceField(choices=SessionType.choices, required=False)
    kiosk = serializers.IntegerField(required=False, min_value=1, max_value=INT_MAX)
    created_from = serializers.DateField(
        required=False, input_formats=["%Y-%m-%d"], help_text="YYYY-MM-DD (UTC day), included"
    )
    created_to = serializers.DateField(
        required=False, input_formats=["%Y-%m-%d"], help_text="YYYY-MM-DD (UTC day), included"
    )


@extend_schema_view(get=extend_schema(parameters=[SessionListQuery]))
class SessionListCreateView(KioskAPIView, generics.ListAPIView):
    """`GET /api/sessions` (filters: status, type, kiosk, created_from, created_to; paginated),
    `POST /api/sessions` (kiosk only). A kiosk lists only its own sessions of the last
    `KIOSK_SESSION_LIST_HOURS`, with the clients' contacts masked."""

    serializer_class = SessionSerializer
    query_serializer_class = SessionListQuery

    def get_serializer_class(self) -> type[SessionSerializer]:
        if request_kiosk(self.request) is not None:
            return MaskedSessionSerializer
        return SessionSerializer

    def get_queryset(self) -> QuerySet[Session]:
        queryset = scope_to_caller(Session.objects.all(), self.request, "kiosk")
        if request_kiosk(self.request) is not None:
            since = timezone.now() - timedelta(hours=settings.KIOSK_SESSION_LIST_HOURS)
            queryset = queryset.filter(created_at__gte=since)
        query = self.query
        for name in ("status", "type"):
            if query.get(name):
                queryset = queryset.filter(**{name: query[name]})
        if query.get("kiosk"):
            queryset = queryset.filter(kiosk_id=query["kiosk"])
        for name, lookup in (("created_from", "gte"), ("created_to", "lte")):
            if query.get(name):
                queryset = queryset.filter(**{f"created_at__date__{lookup}": query[name]})
        return queryset.order_by("-created_at")

    @extend_schema(request=SessionCreateSerializer, responses={201: SessionSerializer})
    def post(self, request: Request) -> Response:
        kiosk = request_kiosk(request)
        if kiosk is None:
            raise exceptions.PermissionDenied("Only a kiosk may start a session.")
        data = _SESSION_CREATE.run_validation(request.data)  # is_valid() without the build
        session = services.create_session(
            kiosk=kiosk,
            type=data["type"],
            contact_email=data["contact"].get("email", ""),
            contact_phone=data["contact"].get("phone", ""),
            metadata=data.get("metadata") or {},
            ttl_ms=data.get("ttl_ms"),
            actor=Actor.for_kiosk(kiosk, request),
        )
        return Response(session_document(session), status=status.HTTP_201_CREATED)


class SessionDetailView(KioskAPIView):
    """`GET /api/sessions/{id}`, `PATCH /api/sessions/{id}` (activity: pushes the expiry)."""

    def get_object(self, request: Request, pk: Any) -> Session:
        return get_object_or_404(scope_to_caller(Session.objects.all(), request, "kiosk"), pk=pk)

    @extend_schema(responses=SessionSerializer)
    def get(self, request: Request, pk: Any) -> Response:
        return Response(session_document(self.get_object(request, pk)))

    @extend_schema(request=SessionUpdateSerializer, responses=SessionSerializer)
    def patch(self, request: Request, pk: Any) -> Response:
        session = self.get_object(request, pk)
        serializer = SessionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        changes: dict[str, Any] = {}
        if "contact" in data:
            if "email" in data["contact"]:
                changes["contact_email"] = data["contact"]["email"]
            if "phone" in data["contact"]:
                changes["contact_phone"] = data["contact"]["phone"]
        if "metadata" in data:
            changes["metadata"] = data["metadata"]
        try:
            session = services.update_session(
                session.pk, changes=changes, actor=Actor.for_kiosk(session.kiosk, request)
            )
        except services.SessionConflict as exc:
            return _conflict(exc)
        return Response(session_document(session))


class SessionCompleteView(KioskAPIView):
    """`POST /api/sessions/{id}/complete`: 409 when the session is completed or expired."""

    permission_classes = (IsKiosk,)

    @extend_schema(request=None, responses=SessionSerializer)
    def post(self, request: Request, pk: Any) -> Response:
        session = get_object_or_404(scope_to_caller(Session.objects.all(), request, "kiosk"), pk=pk)
        try:
            session = services.complete_session(
                session.pk, actor=Actor.for_kiosk(session.kiosk, request)
            )
        except services.SessionConflict as exc:
            return _conflict(exc)
        return Response(session_document(session))


class KioskConfigSerializer(serializers.ModelSerializer):
    brand = serializers.SerializerMethodField()
    prices = serializers.SerializerMethodField()
    settings = serializers.SerializerMethodField()

    class Meta:
        model = Kiosk
        fields = ["id", "name", "brand", "prices", "settings"]
        read_only_fields = fields

    def get_brand(self, kiosk: Kiosk) -> dict[str, str]:
        return {
            "name": kiosk.display_brand,
            "address": kiosk.brand_address,
            "support": kiosk.brand_support,
            "color": kiosk.brand_color,
        }

    def get_prices(self, kiosk: Kiosk) -> dict[str, int]:
        # The server's price list: what the intent will charge.
        return {service: price_for(kiosk, service) for service in SessionType.values}

    def get_settings(self, kiosk: Kiosk) -> dict[str, Any]:
        return {
            "environment": settings.AGENT_ENV,
            "currency": settings.PAYMENTS_CURRENCY,
            "payments_provider": settings.PAYMENTS_PROVIDER,
            "dev_manual_mode": settings.PAYMENTS_DEV_MANUAL_MODE,
            "session_ttl_ms": settings.KIOSK_SESSION_TTL_MS,
            "auto_reset_on_timeout": settings.KIOSK_AUTO_RESET_ON_TIMEOUT,
            "idle_timeout_s": settings.KIOSK_UI_IDLE_SECONDS,
            "intent_ttl_s": settings.PAYMENTS_INTENT_TTL_S,
        }


class KioskMeView(KioskAPIView):
    """`GET /api/kiosk/me`: the calling kiosk's name, branding, prices and UI settings."""

    permission_classes = (IsKiosk,)

    @extend_schema(responses=KioskConfigSerializer)
    def get(self, request: Request) -> Response:
        kiosk = request_kiosk(request)
        return Response(KioskConfigSerializer(kiosk).data)
