"""`POST /api/telegram/webapp-session`: the Mini App trades Telegram's signed initData for a
normal session of the person whose chat is linked to that Telegram user; `/api/alert-settings/`:
the owner's bot alert settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import FIELD_ERRORS
from core.query import DeclaredQueryMixin
from notifications.models import TelegramChat
from phone import alerts
from phone.initdata import InitDataError, validate
from phone.models import AlertSettings
from tenancy.views import OwnerAPIView


class WebAppSessionSerializer(serializers.Serializer[Any]):
    init_data = serializers.CharField(max_length=4096, help_text="Telegram.WebApp.initData")


class WebAppSessionAnswerSerializer(serializers.Serializer[Any]):
    username = serializers.CharField()


class WebAppSessionView(DeclaredQueryMixin, APIView):
    """The initData is the credential: no session or token is needed to call this."""

    authentication_classes: list[Any] = []
    permission_classes = (AllowAny,)
    parser_classes = (JSONParser,)

    @extend_schema(
        summary="Start a session from a Telegram Mini App's initData",
        description="Checks the HMAC-SHA256 signature with the bot token and that `auth_date` "
        "is recent, then logs in the person whose Telegram chat is linked to that user.",
        request=WebAppSessionSerializer,
        responses={200: WebAppSessionAnswerSerializer, 400: FIELD_ERRORS},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = WebAppSessionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            tg_user = validate(
                serializer.validated_data["init_data"],
                bot_token=settings.TELEGRAM_BOT_TOKEN,
                max_age=settings.TELEGRAM_INIT_DATA_MAX_AGE_SECONDS,
            )
        except InitDataError:
            raise exceptions.AuthenticationFailed(
                _("Telegram's sign-in data is invalid or too old: reopen the app.")
            ) from None
        chat = (
            TelegramChat.objects.filter(chat_id=tg_user.telegram_id, enabled=True, is_group=False)
            .select_related("user")
            .first()
        )
        if chat is None or not chat.user.is_active:
            raise exceptions.PermissionDenied(
                _("This Telegram account is not linked to anyone: ask the owner for an invite.")
            )
        user = get_user_model().objects.get(pk=chat.user_id)
        login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
        return Response({"username": user.get_username()})


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        "example": "08:00",
        "description": "Moscow time, HH:MM",
    }
)
class ClockTimeField(serializers.TimeField):
    """A wall-clock time as people write it, "08:00" (OpenAPI's `time` format would demand a
    UTC offset, which a shop's opening hour does not have)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", input_formats=["%H:%M"], **kwargs)


class AlertSettingsSerializer(serializers.ModelSerializer[AlertSettings]):
    business_hours_start = ClockTimeField(required=False)
    business_hours_end = ClockTimeField(required=False)
    offline_after_minutes = serializers.IntegerField(min_value=5, max_value=7 * 24 * 60)
    no_sales_hours = serializers.IntegerField(min_value=0, max_value=72)
    failed_imports_in_a_row = serializers.IntegerField(min_value=0, max_value=100)

    class Meta:
        model = AlertSettings
        fields = [
            "enabled",
            "offline_after_minutes",
            "no_sales_hours",
            "business_hours_start",
            "business_hours_end",
            "failed_imports_in_a_row",
        ]


class AlertSettingsView(OwnerAPIView):
    """`/api/alert-settings/`: when the owner and admins hear about trouble in the bot."""

    @extend_schema(
        summary="The owner's bot alert settings",
        description="Defaults until changed: on, 60 min offline, 3 h without sales, business "
        "hours 08:00–22:00 (Moscow; equal times mean all day; they may wrap midnight), 3 failed "
        "imports in a row. Outside business hours only urgent alerts (Vendista 402, refused "
        "credentials) are sent.",
        responses={200: AlertSettingsSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(AlertSettingsSerializer(alerts.settings_of(self.owner.pk)).data)

    @extend_schema(
        summary="Change the owner's bot alert settings",
        request=AlertSettingsSerializer,
        responses={200: AlertSettingsSerializer, 400: FIELD_ERRORS},
        examples=[
            OpenApiExample(
                "shop hours",
                value={"business_hours_start": "09:00", "business_hours_end": "21:00"},
                request_only=True,
            )
        ],
    )
    def patch(self, request: Request) -> Response:
        current, _created = AlertSettings.objects.get_or_create(owner=self.owner)
        serializer = AlertSettingsSerializer(current, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)
