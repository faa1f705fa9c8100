"""Strict query parameters for the staff API: a parameter the view's OpenAPI operation does not
declare is a 400 naming it, never silently ignored (a typo such as `?statsu=pending` would
otherwise list everything) — and what the schema declares is exactly what is accepted, so the
schema-driven fuzzing reaches every parameter.

The declared names come from drf-spectacular itself (filter backends, pagination, ordering and
`@extend_schema` parameters), computed once per process for every endpoint.
"""

from __future__ import annotations

import threading
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.request import Request

_Key = tuple[type, str | None, str]
_declared: dict[_Key, frozenset[str]] | None = None
_lock = threading.Lock()

UNKNOWN = _("Unknown query parameter.")


def _collect() -> dict[_Key, frozenset[str]]:
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.settings import spectacular_settings

    generator = SchemaGenerator()
    generator._initialise_endpoints()
    found: dict[_Key, frozenset[str]] = {}
    for path, path_regex, method, view in generator._get_paths_and_endpoints():
        view.request = spectacular_settings.GET_MOCK_REQUEST(method, path, view, None)
        operation = view.schema.get_operation(path, path_regex, "^/", method, generator.registry)
        if not operation:
            continue
        names = frozenset(
            str(parameter["name"])
            for parameter in operation.get("parameters", [])
            if parameter.get("in") == "query"
        )
        key = (type(view), getattr(view, "action", None), method)
        found[key] = found.get(key, frozenset()) | names
    return found


def declared_query_parameters(view: Any, method: str) -> frozenset[str] | None:
    """The query parameters the schema declares for this view, action and method (None: the
    view is not in the schema, so nothing is checked)."""
    global _declared
    if _declared is None:
        with _lock:
            if _declared is None:
                _declared = _collect()
    return _declared.get((type(view), getattr(view, "action", None), method.upper()))


def reject_undeclared(view: Any, request: Request) -> None:
    declared = declared_query_parameters(view, request.method or "GET")
    if declared is None:
        return
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        raise exceptions.ValidationError({name[:50]: [UNKNOWN] for name in unknown[:10]})


class DeclaredQueryMixin:
    """Mixed in before a DRF view: after authentication, permissions and throttles, an
    undeclared query parameter answers 400."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        reject_undeclared(self, request)


__all__ = ["DeclaredQueryMixin", "declared_query_parameters", "reject_undeclared"]
