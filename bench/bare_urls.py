"""The project's URLs and the bare view (see bench/bare_wsgi.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config import urls as project_urls


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"status":"ok"}', content_type="application/json")


# Right after the kiosk and payment patterns, so that Django tries as many patterns before it as
# before the kiosk API paths (config/urls.py puts those first).
urlpatterns = [*project_urls.urlpatterns]
urlpatterns.insert(
    next(
        i + 1
        for i, entry in enumerate(urlpatterns)
        if getattr(getattr(entry, "urlconf_name", None), "__name__", "") == "payments.urls"
    ),
    path("bench/bare", bare),
)
