"""The project's URLs and the bare view (see bench/bare_wsgi.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"status":"ok"}', content_type="application/json")


urlpatterns = [path("bench/bare", bare), path("", include("config.urls"))]
