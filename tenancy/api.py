"""Who am I, and who works for the owner I act for."""

from __future__ import annotations

from typing import cast

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenancy.models import Membership
from tenancy.permissions import STAFF_ROLES
from tenancy.views import OwnerScopedReadOnlyViewSet

User = get_user_model()


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.CharField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "email", "display_name", "role", "created_at"]
        read_only_fields = fields


class MyMembershipSerializer(serializers.ModelSerializer):
    owner_id = serializers.IntegerField(read_only=True)
    owner_name = serializers.CharField(source="owner.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["owner_id", "owner_name", "role"]
        read_only_fields = fields


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    is_staff = serializers.BooleanField()
    memberships = MyMembershipSerializer(many=True)


class MeView(APIView):
    """The signed-in user and the owners they may act for (send one as `X-Owner-Id`)."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        memberships = Membership.objects.filter(user_id=cast(int, user.pk)).select_related("owner")
        data = {
            "id": user.pk,
            "username": user.get_username(),
            "email": getattr(user, "email", ""),
            "is_staff": user.is_staff,
            "memberships": memberships,
        }
        return Response(MeSerializer(data).data)


class MembershipViewSet(OwnerScopedReadOnlyViewSet):
    """People with access to the owner this request acts for. Owners and admins only."""

    queryset = Membership.objects.select_related("user").order_by("id")
    serializer_class = MembershipSerializer
    allowed_roles = STAFF_ROLES
