"""The signed-in person and the members of the owner a request acts for."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tenancy.api import MembershipViewSet, MeView, TokenView

router = SimpleRouter()
router.register("members", MembershipViewSet, basename="member")

urlpatterns = [
    path("api/me/", MeView.as_view(), name="me"),
    path("api/auth/token/", TokenView.as_view(), name="api-token"),
    path("api/", include(router.urls)),
]
