"""Payments API: intents, the small status document the kiosk polls, DEV confirm, webhook."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Actor
from core.api import FIELD_ERRORS
from core.net import client_ip
from kiosk.auth import IPRateThrottle, IsKiosk, KioskAPIView, request_kiosk, scope_to_caller
from kiosk.models import Session
from payments import services
from payments.models import PaymentIntent, PaymentStatus
from payments.providers import ProviderRejected

log = logging.getLogger(__name__)


class IntentSerializer(serializers.ModelSerializer):
    session_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = PaymentIntent
        fields = [
            "id",
            "session_id",
            "amount",
            "currency",
            "provider",
            "provider_payment_id",
            "status",
            "failure_reason",
            "qr_code_data",
            "metadata",
            "created_at",
            "confirmed_at",
            "closed_at",
            "expires_at",
            "refund_status",
        ]
        read_only_fields = fields


class IntentStatusSerializer(serializers.ModelSerializer):
    """What the kiosk polls every second or two: small on purpose."""

    class Meta:
        model = PaymentIntent
        fields = ["id", "status", "amount", "currency", "qr_code_data", "expires_at"]
        read_only_fields = fields


class IntentCreateSerializer(serializers.Serializer):
    session_id = serializers.UUIDField()
    amount = serializers.IntegerField(required=False, min_value=1, max_value=100_000_000)
    currency = serializers.CharField(required=False, max_length=3)
    metadata = serializers.DictField(required=False, default=dict)

    def validate_currency(self, value: str) -> str:
        if value != settings.PAYMENTS_CURRENCY:
            raise serializers.ValidationError(f"Only {settings.PAYMENTS_CURRENCY} is accepted.")
        return value

    def validate_metadata(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > 10:
            raise serializers.ValidationError("At most 10 keys.")
        size = len(json.dumps(value, ensure_ascii=False).encode())
        if size > settings.PAYMENTS_METADATA_MAX_BYTES:
            raise serializers.ValidationError(
                f"At most {settings.PAYMENTS_METADATA_MAX_BYTES} bytes of JSON, got {size}."
            )
        return value


def _intents(request: Request) -> QuerySet[PaymentIntent]:
    return scope_to_caller(PaymentIntent.objects.all(), request, "session__kiosk")


class IntentListQuery(serializers.Serializer):
    session = serializers.UUIDField(required=False, help_text="Only this session's intents")
    status = serializers.ChoiceField(choices=PaymentStatus.choices, required=False)


@extend_schema_view(get=extend_schema(parameters=[IntentListQuery]))
class IntentListCreateView(KioskAPIView, generics.ListAPIView):
    """`POST /api/payments/intent` (kiosk): create; `GET /api/payments/intent`: list
    (`?session=<id>`, `?status=`)."""

    serializer_class = IntentSerializer
    query_serializer_class = IntentListQuery

    def get_queryset(self) -> QuerySet[PaymentIntent]:
        queryset = _intents(self.request)
        if self.query.get("session"):
            queryset = queryset.filter(session_id=self.query["session"])
        if self.query.get("status"):
            queryset = queryset.filter(status=self.query["status"])
        return queryset.order_by("-created_at")

    @extend_schema(
        request=IntentCreateSerializer,
        responses={
            201: IntentSerializer,
            200: OpenApiResponse(IntentSerializer, description="The session's open intent"),
            400: FIELD_ERRORS,
            409: OpenApiResponse(description="The session is paid or not active"),
        },
    )
    def post(self, request: Request) -> Response:
        kiosk = request_kiosk(request)
        if kiosk is None:
            raise exceptions.PermissionDenied("Only a kiosk may create a payment.")
        serializer = IntentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            intent, created = services.create_intent(
                kiosk=kiosk,
                session_id=data["session_id"],
                amount=data.get("amount"),
                currency=data.get("currency"),
                metadata=data.get("metadata"),
                actor=Actor.for_kiosk(kiosk, request),
            )
        except Session.DoesNotExist:
            raise exceptions.NotFound("No such session.") from None
        except services.AmountMismatch as exc:
            raise exceptions.ValidationError({"amount": [str(exc)]}) from None
        except services.PaymentConflict as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        # A second create for the session answers its open intent (200), never a second one.
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(IntentSerializer(intent).data, status=code)


class IntentDetailView(KioskAPIView):
    """`GET /api/payments/intent/{id}`: full details."""

    @extend_schema(responses=IntentSerializer)
    def get(self, request: Request, pk: Any) -> Response:
        return Response(IntentSerializer(get_object_or_404(_intents(request), pk=pk)).data)


_STATUS_FIELDS = IntentStatusSerializer.Meta.fields
_DATETIME = serializers.DateTimeField()


def _status_json(row: dict[str, Any]) -> dict[str, Any]:
    expires_at = _DATETIME.to_representation(row["expires_at"])
    return {**row, "id": str(row["id"]), "expires_at": expires_at}


def _render_status(row: dict[str, Any]) -> bytes:
    # As DRF's JSONRenderer writes it (compact, UTF-8).
    return json.dumps(_status_json(row), ensure_ascii=False, separators=(",", ":")).encode()


class IntentStatusView(KioskAPIView):
    """`GET /api/payments/status/{id}`: the small status document the kiosk polls. Cheap on
    purpose: a kiosk's poll is answered from the process's cache of rendered documents while
    the intent is unchanged, else one indexed read of six columns (no model instance, no
    serializer build)."""

    @extend_schema(responses=IntentStatusSerializer)
    def get(self, request: Request, pk: Any) -> HttpResponse | Response:
        kiosk = request_kiosk(request)
        if kiosk is not None:
            body = services.status_document(pk, kiosk_id=kiosk.pk, render=_render_status)
            if body is None:
                raise Http404
            return HttpResponse(body, content_type="application/json")
        row = _intents(request).filter(pk=pk).values(*_STATUS_FIELDS).first()
        if row is None:
            raise Http404
        return Response(_status_json(row))


def qr_svg(data: str) -> str:
    """The payment QR code as a standalone SVG that scales to its box (no fixed size)."""
    import segno

    buffer = io.BytesIO()
    segno.make(data, error="m").save(
        buffer, kind="svg", scale=1, border=4, dark="#000", light="#fff", omitsize=True
    )
    return buffer.getvalue().decode()


class IntentQrView(KioskAPIView):
    """`GET /api/payments/qr/{id}`: the intent's `qr_code_data` (readable in the intent itself)
    as an SVG image, for the kiosk screen. 409 while the PSP has given no QR data yet."""

    @extend_schema(
        responses={
            (200, "image/svg+xml"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="The PSP has given no QR code data yet."),
        }
    )
    def get(self, request: Request, pk: Any) -> HttpResponse | Response:
        intent = get_object_or_404(_intents(request).only("id", "status", "qr_code_data"), pk=pk)
        if not intent.qr_code_data:
            return Response(
                {"detail": "no QR code data yet", "code": "qr_not_ready"},
                status=status.HTTP_409_CONFLICT,
            )
        response = HttpResponse(qr_svg(intent.qr_code_data), content_type="image/svg+xml")
        response["Cache-Control"] = "private, no-store"
        return response


class IntentCancelView(KioskAPIView):
    """`POST /api/payments/cancel/{id}` (kiosk): the client gave up, or the kiosk's timer ran
    out. Answers the status afterwards: `canceled`/`expired`, or `succeeded` when the PSP had
    already taken the money (the client gets the service), or `pending` if the PSP did not
    answer (ask again)."""

    permission_classes = (IsKiosk,)

    @extend_schema(request=None, responses=IntentStatusSerializer)
    def post(self, request: Request, pk: Any) -> Response:
        intent = get_object_or_404(_intents(request), pk=pk)
        kiosk = request_kiosk(request)
        assert kiosk is not None
        services.cancel_intent(intent, actor=Actor.for_kiosk(kiosk, request))
        intent.refresh_from_db()
        return Response(IntentStatusSerializer(intent).data)


class DevConfirmView(KioskAPIView):
    """`POST /api/payments/confirm/{id}`: the DEV emulator's "client paid" button. 404 unless
    `AGENT_ENV=DEV` with the dev provider."""

    permission_classes = (IsKiosk,)

    @extend_schema(request=None, responses=IntentSerializer)
    def post(self, request: Request, pk: Any) -> Response:
        if settings.IS_PROD or settings.PAYMENTS_PROVIDER != "dev":
            raise Http404
        intent = get_object_or_404(_intents(request), pk=pk, provider="dev")
        kiosk = request_kiosk(request)
        assert kiosk is not None
        services.confirm_dev_intent(
            intent.pk, actor=Actor.for_kiosk(kiosk, request), source="dev_manual"
        )
        intent.refresh_from_db()
        if intent.status != "succeeded":
            return Response(
                {"detail": f"payment is {intent.status}", **IntentSerializer(intent).data},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(IntentSerializer(intent).data)


class WebhookView(APIView):
    """`POST /api/payments/webhook`: YooKassa notifications. Accepted only from the configured
    ranges; answered 200 at once; the payment is re-read from the API in a task."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (IPRateThrottle,)

    @extend_schema(request=None, responses={200: None})
    def post(self, request: Request) -> Response:
        ip = client_ip(request)
        if settings.PAYMENTS_PROVIDER == "dev" or not services.is_trusted_webhook_source(ip):
            log.warning("payment webhook refused from %s", ip)
            return Response({"detail": "forbidden"}, status=status.HTTP_403_FORBIDDEN)
        if not isinstance(request.data, dict):
            return Response({"detail": "expected a JSON object"}, status=400)
        try:
            services.receive_webhook(
                dict(request.data), remote_ip=ip or "", provider_name=settings.PAYMENTS_PROVIDER
            )
        except ProviderRejected as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"status": "accepted"})
