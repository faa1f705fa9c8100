"""The one DRF router: every app registers its viewsets here, under /api/."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from tenancy.api import MembershipViewSet

router = DefaultRouter()
router.register("members", MembershipViewSet, basename="member")
