"""Kiosk reports (spec paths, with or without a trailing slash) and the signed download link
sent to clients."""

from __future__ import annotations

from django.urls import path, re_path

from core.api import UUID_PK
from reports import api

urlpatterns = [
    re_path(
        r"^api/reports/diagnostics/?$",
        api.DiagnosticsReportView.as_view(),
        name="report-diagnostics",
    ),
    re_path(
        r"^api/reports/thickness/?$", api.ThicknessReportView.as_view(), name="report-thickness"
    ),
    re_path(r"^api/reports/?$", api.ReportListView.as_view(), name="report-list"),
    re_path(
        rf"^api/reports/session/{UUID_PK}/?$",
        api.SessionReportsView.as_view(),
        name="report-session",
    ),
    re_path(rf"^api/reports/{UUID_PK}/?$", api.ReportDetailView.as_view(), name="report-detail"),
    path("reports/download/<str:token>", api.download, name="report-download"),
]
