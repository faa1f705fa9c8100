"""The project's URLs and the bare view (see bench/bare_wsgi.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"status":"ok"}', content_type="application/json")


# Last, so that it is resolved through every project pattern like the API paths are.
urlpatterns = [path("", include("config.urls")), path("bench/bare", bare)]
