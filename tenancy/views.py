"""Base views for tenant-owned data: every API view that acts for an owner builds on these."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Model, QuerySet
from rest_framework import viewsets
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from core.query import DeclaredQueryMixin
from tenancy.models import Membership, Owner, Role
from tenancy.permissions import STAFF_ROLES, ActsForOwner


class ActsForOwnerMixin(DeclaredQueryMixin):
    """For views whose `permission_classes` include ActsForOwner: it resolves the one owner the
    request acts for and checks the caller's role.

    `allowed_roles` may use the view; set `write_roles` too when fewer may change data, or
    `action_roles` per viewset action (see `tenancy.permissions.roles_allowed`).
    """

    allowed_roles: ClassVar[tuple[str, ...]] = tuple(Role)
    request: Any

    @property
    def membership(self) -> Membership:
        membership: Membership = self.request.membership
        return membership

    @property
    def owner(self) -> Owner:
        return self.membership.owner


class OwnerScopedMixin(ActsForOwnerMixin):
    """Every queryset is filtered to the owner the request acts for.

    Subclasses set `queryset` and, when the owner is not a direct `owner` field,
    `owner_field` (a lookup path such as "terminal__owner").
    """

    owner_field: ClassVar[str] = "owner"

    def get_queryset(self) -> QuerySet[Any]:
        queryset: QuerySet[Model] = super().get_queryset()  # type: ignore[misc]
        return queryset.filter(**{self.owner_field: self.owner})


class OwnerAPIView(ActsForOwnerMixin, APIView):
    """An APIView acting for the request's owner, for owners and admins unless it says
    otherwise. Bodies are JSON only (form encodings would read an empty field as "not sent")."""

    permission_classes = (IsAuthenticated, ActsForOwner)
    parser_classes = (JSONParser,)
    allowed_roles: ClassVar[tuple[str, ...]] = STAFF_ROLES


class OwnerScopedReadOnlyViewSet(OwnerScopedMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = (IsAuthenticated, ActsForOwner)


class OwnerScopedModelViewSet(OwnerScopedMixin, viewsets.ModelViewSet):
    permission_classes = (IsAuthenticated, ActsForOwner)

    def perform_create(self, serializer: Any) -> None:
        serializer.save(owner=self.owner)
