"""The API's OpenAPI operations, and which view answers a schema path."""

from __future__ import annotations

import uuid
from typing import Any

from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator

from tenancy.permissions import ActsForOwner

METHODS = ("get", "post", "put", "patch", "delete")
Operation = tuple[str, str, dict[str, Any]]  # (path, METHOD, operation object)


def operations() -> list[Operation]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (path, method.upper(), operation)
        for path, item in sorted(schema["paths"].items())
        for method, operation in item.items()
        if method in METHODS
    ]


def view_of(path: str) -> tuple[Any, dict[str, str] | None]:
    """The view class and viewset action map answering `path` (ids filled with a dummy)."""
    for dummy in ("1", str(uuid.uuid4())):
        try:
            match = resolve(path.replace("{id}", dummy).replace("{pk}", dummy))
        except Resolver404:
            continue
        func = match.func
        return getattr(func, "cls", None), getattr(func, "actions", None)
    raise AssertionError(f"{path} does not resolve")


def acts_for_owner(path: str) -> bool:
    """Whether the path's view acts for an owner (staff API) rather than for a kiosk or anyone."""
    view_cls, _actions = view_of(path)
    return ActsForOwner in tuple(getattr(view_cls, "permission_classes", ()))
