"""The Mini App page, its sign-in by Telegram initData, and the owner's alert settings."""

from __future__ import annotations

from django.urls import path

from phone.api import AlertSettingsView, WebAppSessionView
from phone.views import mini_app

urlpatterns = [
    path("app/", mini_app, name="phone-app"),
    path("api/telegram/webapp-session", WebAppSessionView.as_view(), name="webapp-session"),
    path("api/alert-settings/", AlertSettingsView.as_view(), name="alert-settings"),
]
