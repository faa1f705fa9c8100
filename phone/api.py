"""`POST /api/telegram/webapp-session`: the Mini App trades Telegram's signed initData for a
normal session of the person whose chat is linked to that Telegram user."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import FIELD_ERRORS
from notifications.models import TelegramChat
from phone.initdata import InitDataError, validate


class WebAppSessionSerializer(serializers.Serializer[Any]):
    init_data = serializers.CharField(max_length=4096, help_text="Telegram.WebApp.initData")


class WebAppSessionAnswerSerializer(serializers.Serializer[Any]):
    username = serializers.CharField()


class WebAppSessionView(APIView):
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
