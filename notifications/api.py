"""The signed-in person's Telegram link: their linked chats and a one-time `/start` code."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.bot import issue_link_code, start_link
from notifications.models import TelegramChat


class LinkedChatSerializer(serializers.ModelSerializer):
    class Meta:
        model = TelegramChat
        fields = ["id", "username", "is_group", "enabled", "disabled_reason", "linked_at"]
        read_only_fields = fields


class TelegramLinkSerializer(serializers.Serializer):
    chats = LinkedChatSerializer(many=True)
    code = serializers.CharField(allow_null=True)
    command = serializers.CharField(allow_null=True)
    start_link = serializers.CharField(allow_blank=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class TelegramLinkView(APIView):
    """GET: my linked chats. POST: a new one-time code to send to the bot as `/start <code>`."""

    def _body(self, request: Request, code: Any = None) -> dict[str, Any]:
        chats = TelegramChat.objects.filter(user_id=cast(int, request.user.pk)).order_by("id")
        return {
            "chats": LinkedChatSerializer(chats, many=True).data,
            "code": code.code if code else None,
            "command": f"/start {code.code}" if code else None,
            "start_link": start_link(code.code) if code else "",
            "expires_at": code.expires_at if code else None,
        }

    @extend_schema(request=None, responses=TelegramLinkSerializer)
    def get(self, request: Request) -> Response:
        return Response(TelegramLinkSerializer(self._body(request)).data)

    @extend_schema(request=None, responses={201: TelegramLinkSerializer})
    def post(self, request: Request) -> Response:
        code = issue_link_code(request.user)
        return Response(
            TelegramLinkSerializer(self._body(request, code)).data, status=status.HTTP_201_CREATED
        )
