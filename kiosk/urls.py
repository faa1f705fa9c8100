"""Kiosk sessions (spec paths, with or without a trailing slash) and the touch screen at
`/kiosk/`."""

from __future__ import annotations

from django.urls import path, re_path

from core.api import UUID_PK
from kiosk import api, views

urlpatterns = [
    path("kiosk/", views.kiosk_screen, name="kiosk-screen"),
    re_path(r"^api/kiosk/me/?$", api.KioskMeView.as_view(), name="kiosk-me"),
    re_path(r"^api/sessions/?$", api.SessionListCreateView.as_view(), name="session-list"),
    re_path(rf"^api/sessions/{UUID_PK}/?$", api.SessionDetailView.as_view(), name="session-detail"),
    re_path(
        rf"^api/sessions/{UUID_PK}/complete/?$",
        api.SessionCompleteView.as_view(),
        name="session-complete",
    ),
]
