"""URL map: admin, API (router + schema + docs), health and metrics."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import schema  # noqa: F401 - registers the OpenAPI extensions
from config.api import router
from config.health import healthz
from config.metrics import metrics
from notifications.api import TelegramLinkView
from notifications.views import telegram_webhook
from tenancy.api import MeView
from vendista.api import ResetPaymentStatusView

admin.site.site_header = "vendkiosk"
admin.site.site_title = "vendkiosk"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/me/", MeView.as_view(), name="me"),
    path(
        "api/auth/reset-payment-status",
        ResetPaymentStatusView.as_view(),
        name="reset-payment-status",
    ),
    path("api/me/telegram-link", TelegramLinkView.as_view(), name="me-telegram-link"),
    path("telegram/webhook", telegram_webhook, name="telegram-webhook"),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The docs page sends a browser to the admin login; the schema itself answers 401.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path("api-auth/", include("rest_framework.urls")),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
]

# --- Kiosks, payments and reports ---
urlpatterns += [path("", include("kiosk.urls"))]
