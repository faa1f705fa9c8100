"""`/metrics` for Prometheus, behind a bearer token when `METRICS_TOKEN` is set."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_prometheus.exports import ExportToDjangoView


def metrics(request: HttpRequest) -> HttpResponse:
    expected = settings.METRICS_TOKEN
    if expected:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            refusal = HttpResponse(
                "metrics token required\n", status=401, content_type="text/plain"
            )
            refusal["WWW-Authenticate"] = "Bearer"
            return refusal
    exported: HttpResponse = ExportToDjangoView(request)
    return exported
