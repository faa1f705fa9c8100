"""The JSON parser of the APIs: DRF's, plus the checks that keep bad bodies from reaching the
database as 500s — nesting deeper than `API_JSON_MAX_DEPTH`, NUL characters (PostgreSQL text and
jsonb refuse them) and lone UTF-16 surrogates (not encodable as UTF-8). Each is a 400 naming
the field."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import exceptions, parsers, serializers


def _bad_text(value: str) -> str | None:
    if "\x00" in value:
        return "NUL characters are not allowed."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Lone surrogate characters are not allowed."
    return None


def check_json(data: Any, max_depth: int) -> None:
    """Raise a ValidationError naming the first bad field (dotted path) of parsed JSON."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        field = path or "non_field_errors"
        if depth > max_depth:
            raise serializers.ValidationError({field: [f"Nested deeper than {max_depth} levels."]})
        if isinstance(value, dict):
            for key, child in value.items():
                problem = _bad_text(str(key))
                if problem:
                    raise serializers.ValidationError({field: [f"Key: {problem}"]})
                stack.append((child, f"{path}.{key}" if path else str(key), depth + 1))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                stack.append((child, f"{path}.{index}" if path else str(index), depth + 1))
        elif isinstance(value, str):
            problem = _bad_text(value)
            if problem:
                raise serializers.ValidationError({field: [problem]})


class SafeJSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON nested too deep.") from None
        check_json(data, settings.API_JSON_MAX_DEPTH)
        return data


def query_text_problem(params: Any) -> tuple[str, str] | None:
    """(parameter, message) of the first query parameter with NUL or lone surrogates."""
    for name, values in params.lists():
        for value in [name, *values]:
            problem = _bad_text(value)
            if problem:
                label = "query" if _bad_text(name) else name[:50]
                return label, problem
    return None


def check_query_text(params: Any) -> None:
    """NUL bytes or lone surrogates in query parameters: a 400 naming the parameter."""
    problem = query_text_problem(params)
    if problem is not None:
        raise serializers.ValidationError({problem[0]: [problem[1]]})


__all__ = ["SafeJSONParser", "check_json", "check_query_text", "query_text_problem"]
