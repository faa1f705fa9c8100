"""Base views for tenant-owned data."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Model, QuerySet
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated

from tenancy.models import Membership, Owner, Role
from tenancy.permissions import ActsForOwner


class OwnerScopedMixin:
    """Every queryset is filtered to the owner the request acts for (with ActsForOwner).

    Subclasses set `queryset` and, when the owner is not a direct `owner` field,
    `owner_field` (a lookup path such as "terminal__owner").
    """

    # Roles that may use the view; set `write_roles` too when fewer may change data (ActsForOwner).
    allowed_roles: ClassVar[tuple[str, ...]] = tuple(Role)
    owner_field: ClassVar[str] = "owner"
    request: Any

    @property
    def membership(self) -> Membership:
        membership: Membership = self.request.membership
        return membership

    @property
    def owner(self) -> Owner:
        return self.membership.owner

    def get_queryset(self) -> QuerySet[Any]:
        queryset: QuerySet[Model] = super().get_queryset()  # type: ignore[misc]
        return queryset.filter(**{self.owner_field: self.owner})


class OwnerScopedReadOnlyViewSet(OwnerScopedMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = (IsAuthenticated, ActsForOwner)


class OwnerScopedModelViewSet(OwnerScopedMixin, viewsets.ModelViewSet):
    permission_classes = (IsAuthenticated, ActsForOwner)

    def perform_create(self, serializer: Any) -> None:
        serializer.save(owner=self.owner)
