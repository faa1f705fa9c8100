"""A deliberately unscoped endpoint: the isolation helper must catch it."""

from __future__ import annotations

from django.urls import path
from rest_framework import viewsets

from tenancy.api import MembershipSerializer
from tenancy.models import Membership


class LeakyMembershipViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Membership.objects.order_by("id")
    serializer_class = MembershipSerializer


urlpatterns = [
    path("leaky/members/", LeakyMembershipViewSet.as_view({"get": "list"})),
    path("leaky/members/<int:pk>/", LeakyMembershipViewSet.as_view({"get": "retrieve"})),
]
