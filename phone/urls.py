"""The Mini App page and its sign-in by Telegram initData."""

from __future__ import annotations

from django.urls import path

from phone.api import WebAppSessionView
from phone.views import mini_app

urlpatterns = [
    path("app/", mini_app, name="phone-app"),
    path("api/telegram/webapp-session", WebAppSessionView.as_view(), name="webapp-session"),
]
