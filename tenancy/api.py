"""Who am I, and who works for the owner I act for."""

from __future__ import annotations

from typing import cast

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import FIELD_ERRORS
from core.query import DeclaredQueryMixin
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


class MeView(DeclaredQueryMixin, APIView):
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


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenView(ObtainAuthToken):
    """`POST /api/auth/token/`: user name and password in, the user's API token out. Wrong
    passwords count towards the login lockout (429 while it lasts)."""

    @extend_schema(
        summary="The API token of a user (login and password)",
        request=AuthTokenSerializer,
        responses={200: TokenSerializer, 400: FIELD_ERRORS, 429: None},
    )
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.ValidationError:
            # axes marks the DRF request it was given; answer a lockout as the admin does.
            if getattr(request, "axes_locked_out", False):
                raise LockedOut from None
            raise


class LockedOut(exceptions.APIException):
    status_code = 429
    default_detail = _("Too many failed logins: try again later.")
    default_code = "locked_out"
