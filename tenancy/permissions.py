"""Which owner a request acts for, and whether the caller's role may do what it asks.

A request acts for exactly one owner. A user with one membership acts for that owner; a user with
several names one in the `X-Owner-Id` header. The choice is validated against the memberships, so
an id in a request can never reach another tenant's data.
"""

from __future__ import annotations

from typing import Any, cast

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from tenancy.models import Membership, Role

OWNER_HEADER = "X-Owner-Id"
# Owners and their admins: configuration, the warehouse, people and money.
STAFF_ROLES: tuple[str, ...] = (Role.OWNER, Role.ADMIN)


def resolve_membership(request: Request) -> Membership:
    """The caller's membership for the owner this request acts for (raises 400/403)."""
    memberships = Membership.objects.select_related("owner").filter(
        user_id=cast(int, request.user.pk)
    )
    raw = request.headers.get(OWNER_HEADER)
    if raw is None:
        found = list(memberships[:2])
        if not found:
            raise exceptions.PermissionDenied(_("Your user is not a member of any owner."))
        if len(found) > 1:
            raise exceptions.ValidationError(
                {OWNER_HEADER: _("You belong to several owners: name one in this header.")}
            )
        return found[0]
    try:
        owner_id = int(raw)
    except ValueError:
        raise exceptions.ValidationError(
            {OWNER_HEADER: _("Must be an owner id (an integer).")}
        ) from None
    membership = memberships.filter(owner_id=owner_id).first()
    if membership is None:
        raise exceptions.PermissionDenied(_("You are not a member of this owner."))
    return membership


def roles_allowed(view: Any, method: str) -> tuple[str, ...]:
    """The roles that may call `view` with `method`: `view.action_roles[action]` when the view
    names its current action there; else `view.allowed_roles` (default: every role) for reads and
    `view.write_roles` (default: allowed_roles) for anything but GET/HEAD/OPTIONS."""
    action_roles: dict[str, tuple[str, ...]] = getattr(view, "action_roles", {})
    action = getattr(view, "action", None)
    if action in action_roles:
        return action_roles[action]
    allowed: tuple[str, ...] = getattr(view, "allowed_roles", tuple(Role))
    if method in SAFE_METHODS:
        return allowed
    return tuple(getattr(view, "write_roles", allowed))


class ActsForOwner(BasePermission):
    """Resolves `request.membership` and checks the caller's role (see `roles_allowed`)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        membership = resolve_membership(request)
        request.membership = membership  # type: ignore[attr-defined]
        if membership.role not in roles_allowed(view, request.method or "GET"):
            raise exceptions.PermissionDenied(_("Your role may not do this."))
        return True
