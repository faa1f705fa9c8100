"""Kiosk, payments and reports URLs (spec paths, with or without a trailing slash), and the
kiosk's touch screen at `/kiosk/`."""

from __future__ import annotations

from django.urls import path, re_path

from kiosk import api as kiosk_api
from kiosk import views as kiosk_views
from payments import api as payments_api
from reports import api as reports_api

# A canonical UUID only: 36 characters of hex and dashes in the wrong places would reach
# uuid.UUID() and fail there.
UUID = r"(?P<pk>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"

urlpatterns = [
    path("kiosk/", kiosk_views.kiosk_screen, name="kiosk-screen"),
    re_path(r"^api/kiosk/me/?$", kiosk_api.KioskMeView.as_view(), name="kiosk-me"),
    re_path(r"^api/sessions/?$", kiosk_api.SessionListCreateView.as_view(), name="session-list"),
    re_path(
        rf"^api/sessions/{UUID}/?$", kiosk_api.SessionDetailView.as_view(), name="session-detail"
    ),
    re_path(
        rf"^api/sessions/{UUID}/complete/?$",
        kiosk_api.SessionCompleteView.as_view(),
        name="session-complete",
    ),
    re_path(
        r"^api/payments/intent/?$",
        payments_api.IntentListCreateView.as_view(),
        name="payment-intent-list",
    ),
    re_path(
        rf"^api/payments/intent/{UUID}/?$",
        payments_api.IntentDetailView.as_view(),
        name="payment-intent-detail",
    ),
    re_path(
        rf"^api/payments/status/{UUID}/?$",
        payments_api.IntentStatusView.as_view(),
        name="payment-status",
    ),
    re_path(rf"^api/payments/qr/{UUID}/?$", payments_api.IntentQrView.as_view(), name="payment-qr"),
    re_path(
        rf"^api/payments/cancel/{UUID}/?$",
        payments_api.IntentCancelView.as_view(),
        name="payment-cancel",
    ),
    re_path(
        rf"^api/payments/confirm/{UUID}/?$",
        payments_api.DevConfirmView.as_view(),
        name="payment-confirm",
    ),
    re_path(
        r"^api/payments/webhook/?$", payments_api.WebhookView.as_view(), name="payment-webhook"
    ),
    re_path(
        r"^api/reports/diagnostics/?$",
        reports_api.DiagnosticsReportView.as_view(),
        name="report-diagnostics",
    ),
    re_path(
        r"^api/reports/thickness/?$",
        reports_api.ThicknessReportView.as_view(),
        name="report-thickness",
    ),
    re_path(r"^api/reports/?$", reports_api.ReportListView.as_view(), name="report-list"),
    re_path(
        rf"^api/reports/session/{UUID}/?$",
        reports_api.SessionReportsView.as_view(),
        name="report-session",
    ),
    re_path(
        rf"^api/reports/{UUID}/?$", reports_api.ReportDetailView.as_view(), name="report-detail"
    ),
    path("reports/download/<str:token>", reports_api.download, name="report-download"),
]
