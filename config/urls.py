"""The URL map: each app's `urls.py` included once, then the admin, the OpenAPI schema and docs."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="root"),
    path("admin/", admin.site.urls),
    # First: the kiosks' polls and sessions, the hottest paths (Django tries the patterns in order;
    # these ones match nothing else).
    path("", include("kiosk.urls")),  # /kiosk/ screen, sessions
    path("", include("payments.urls")),  # intents, webhook
    path("", include("core.urls")),  # /healthz, /metrics
    path("", include("tenancy.urls")),  # /api/me/, /api/members/
    path("", include("notifications.urls")),  # /api/me/telegram-link, /telegram/webhook
    path("", include("vendista.urls")),  # terminals, transactions, finance, connection
    path("", include("inventory.urls")),  # stock, change log, recipes, presets
    path("", include("tasks_app.urls")),  # tasks, task settings
    path("", include("planning.urls")),  # forecasts, pick lists, stock audits, settings
    path("", include("phone.urls")),  # /app/ (the Mini App), its initData sign-in
    path("", include("reports.urls")),  # reports, download links
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The docs page sends a browser to the admin login; the schema itself answers 401.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path("api/", RedirectView.as_view(pattern_name="api-docs"), name="api-root"),
    path("api-auth/", include("rest_framework.urls")),
]
