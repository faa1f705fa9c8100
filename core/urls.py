"""Operational endpoints: `/healthz` for load balancers, `/metrics` for Prometheus."""

from __future__ import annotations

from django.urls import path

from core.health import healthz
from core.metrics import metrics

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
]
