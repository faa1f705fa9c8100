"""The signed-in person and the members of the owner a request acts for."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tenancy.api import MembershipViewSet, MeView

router = SimpleRouter()
router.register("members", MembershipViewSet, basename="member")

urlpatterns = [
    path("api/me/", MeView.as_view(), name="me"),
    path("api/", include(router.urls)),
]
