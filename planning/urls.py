"""Forecasts, pick lists, stock audits and planning settings."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from planning.api import ForecastViewSet, PickListViewSet, PlanningSettingsView, StockAuditViewSet

router = SimpleRouter()
router.register("forecasts", ForecastViewSet, basename="forecast")
router.register("pick-lists", PickListViewSet, basename="pick-list")
router.register("stock-audits", StockAuditViewSet, basename="stock-audit")

urlpatterns = [
    path("api/planning-settings/", PlanningSettingsView.as_view(), name="planning-settings"),
    path("api/", include(router.urls)),
]
