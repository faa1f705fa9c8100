"""Which owner an admin request acts for, and what the caller's role may open there.

Platform staff (`is_staff`) see every owner. Anyone else signs in through a membership: the
request acts for one of their owners (the one picked with the owner switcher, kept in the
session, else the first), with that membership's role — the same roles as the staff API.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tenancy.models import Membership, Role

SESSION_KEY = "cabinet_owner_id"
EVERY_ROLE: tuple[str, ...] = tuple(Role)
STAFF_ROLES: tuple[str, ...] = (Role.OWNER, Role.ADMIN)
OWNER_ONLY: tuple[str, ...] = (Role.OWNER,)


def is_platform_staff(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def memberships(request: HttpRequest) -> list[Membership]:
    """The caller's memberships (once per request)."""
    cached: list[Membership] | None = getattr(request, "_cabinet_memberships", None)
    if cached is None:
        if not request.user.is_authenticated:
            cached = []
        else:
            cached = list(
                Membership.objects.select_related("owner")
                .filter(user_id=request.user.pk)
                .order_by("owner_id")
            )
        request._cabinet_memberships = cached  # type: ignore[attr-defined]
    return cached


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership this request acts for; None for platform staff and strangers."""
    if is_platform_staff(request):
        return None
    found = memberships(request)
    if not found:
        return None
    chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    for membership in found:
        if membership.owner_id == chosen:
            return membership
    return found[0]


def role_of(request: HttpRequest) -> str | None:
    membership = current_membership(request)
    return membership.role if membership is not None else None


def may(request: HttpRequest, roles: tuple[str, ...]) -> bool:
    """Platform staff may everything; a member when their role is among `roles`."""
    if is_platform_staff(request):
        return True
    role = role_of(request)
    return role is not None and role in roles


def switch_owner(request: HttpRequest, owner_id: Any) -> bool:
    """Act for `owner_id` from now on, if the caller is a member of it."""
    try:
        wanted = int(owner_id)
    except (TypeError, ValueError):
        return False
    if not any(m.owner_id == wanted for m in memberships(request)):
        return False
    request.session[SESSION_KEY] = wanted
    return True
