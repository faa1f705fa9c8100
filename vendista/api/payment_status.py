"""Staff-only Vendista operations over the API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.query import DeclaredQueryMixin
from vendista.models import VendistaAccount
from vendista.services import accounts


class ResetPaymentStatusSerializer(serializers.Serializer[Any]):
    owner_id = serializers.IntegerField(min_value=1, help_text="the owner to reactivate")


class OwnerPaymentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    payment_status = serializers.CharField()


class ResetPaymentStatusResponse(serializers.Serializer[Any]):
    success = serializers.BooleanField()
    message = serializers.CharField()
    owner = OwnerPaymentSerializer()


class ResetPaymentStatusView(DeclaredQueryMixin, APIView):
    """Platform staff set an owner's Vendista payment status back to active (audited)."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(
        request=ResetPaymentStatusSerializer,
        responses={200: ResetPaymentStatusResponse},
        examples=[OpenApiExample("reset", value={"owner_id": 42}, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        data = dict(request.data) if hasattr(request.data, "items") else {}
        if "owner_id" not in data and "userId" in data:  # the original API's field name
            data["owner_id"] = data["userId"]
        serializer = ResetPaymentStatusSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        owner_id = serializer.validated_data["owner_id"]
        account = VendistaAccount.objects.select_related("owner").filter(owner_id=owner_id).first()
        if account is None:
            return Response(
                {"success": False, "error": "owner has no Vendista connection"},
                status=status.HTTP_404_NOT_FOUND,
            )
        changed = accounts.reactivate(
            owner_id, actor=request.user, request=request._request, reason="staff"
        )
        account.refresh_from_db()
        return Response(
            {
                "success": True,
                "message": "payment status reset to active"
                if changed
                else "payment status was already active",
                "owner": {
                    "id": owner_id,
                    "name": account.owner.name,
                    "payment_status": account.payment_status,
                },
            }
        )
