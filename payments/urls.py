"""Payment intents for kiosk sessions, the DEV confirmation and the PSP webhook (spec paths, with
or without a trailing slash)."""

from __future__ import annotations

from django.urls import re_path

from core.api import UUID_PK
from payments import api

urlpatterns = [
    re_path(
        r"^api/payments/intent/?$", api.IntentListCreateView.as_view(), name="payment-intent-list"
    ),
    re_path(
        rf"^api/payments/intent/{UUID_PK}/?$",
        api.IntentDetailView.as_view(),
        name="payment-intent-detail",
    ),
    re_path(
        rf"^api/payments/status/{UUID_PK}/?$", api.IntentStatusView.as_view(), name="payment-status"
    ),
    re_path(rf"^api/payments/qr/{UUID_PK}/?$", api.IntentQrView.as_view(), name="payment-qr"),
    re_path(
        rf"^api/payments/cancel/{UUID_PK}/?$", api.IntentCancelView.as_view(), name="payment-cancel"
    ),
    re_path(
        rf"^api/payments/confirm/{UUID_PK}/?$", api.DevConfirmView.as_view(), name="payment-confirm"
    ),
    re_path(r"^api/payments/webhook/?$", api.WebhookView.as_view(), name="payment-webhook"),
]
