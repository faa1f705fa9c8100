"""Typed readers for settings taken from the environment.

Every reader names the variable in its error, so a malformed or missing value stops the process at
start with a message an operator can act on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_MISSING = object()
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class EnvError(ImproperlyConfigured):
    """A setting in the environment is missing or malformed."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name


def _raw(name: str, default: object, environ: Mapping[str, str] | None) -> str | object:
    source = os.environ if environ is None else environ
    value = source.get(name)
    if value is None or value.strip() == "":
        if default is _MISSING:
            raise EnvError(name, "is required but not set")
        return default
    return value.strip()


def env_str(name: str, default: Any = _MISSING, *, environ: Mapping[str, str] | None = None) -> Any:
    """A string; `default` when unset or blank; error when unset and no default."""
    return _raw(name, default, environ)


def env_bool(
    name: str, default: bool | object = _MISSING, *, environ: Mapping[str, str] | None = None
) -> bool:
    value = _raw(name, default, environ)
    if isinstance(value, bool):
        return value
    lowered = str(value).lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise EnvError(name, f"expected a boolean (1/0, true/false, yes/no), got {value!r}")


def _number(name: str, value: Any, convert: type[int] | type[float], minimum: float | None) -> Any:
    try:
        number = convert(value)
    except (TypeError, ValueError):
        kind = "an integer" if convert is int else "a number"
        raise EnvError(name, f"expected {kind}, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise EnvError(name, f"must be at least {minimum}, got {number}")
    return number


def env_int(
    name: str,
    default: int | object = _MISSING,
    *,
    minimum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    number: int = _number(name, _raw(name, default, environ), int, minimum)
    return number


def env_float(
    name: str,
    default: float | object = _MISSING,
    *,
    minimum: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> float:
    number: float = _number(name, _raw(name, default, environ), float, minimum)
    return number


def env_list(
    name: str, default: list[str] | object = _MISSING, *, environ: Mapping[str, str] | None = None
) -> list[str]:
    """A comma-separated list; blanks between commas are dropped."""
    value = _raw(name, default, environ)
    if isinstance(value, list):
        return value
    return [item.strip() for item in str(value).split(",") if item.strip()]


def env_choice(
    name: str,
    choices: tuple[str, ...],
    default: str | object = _MISSING,
    *,
    environ: Mapping[str, str] | None = None,
) -> str:
    value = str(_raw(name, default, environ))
    if value not in choices:
        raise EnvError(name, f"must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_database_url(
    name: str, default: str | object = _MISSING, *, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A PostgreSQL URL (postgres://user:pass@host:port/db?sslmode=...) as a DATABASES entry."""
    value = str(_raw(name, default, environ))
    parts = urlsplit(value)
    if parts.scheme not in {"postgres", "postgresql", "postgresql+psycopg"}:
        raise EnvError(name, f"expected a postgres:// URL, got scheme {parts.scheme!r}")
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise EnvError(name, "names no database (postgres://user@host:port/DATABASE)")
    try:
        port = parts.port
    except ValueError:
        raise EnvError(name, "has a malformed port") from None
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return {
        "ENGINE": "core.db.postgresql",
        "NAME": database,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(port or ""),
        "OPTIONS": options,
    }


def env_redis_url(
    name: str, default: str | object = _MISSING, *, environ: Mapping[str, str] | None = None
) -> str:
    value = str(_raw(name, default, environ))
    parts = urlsplit(value)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise EnvError(name, f"expected a redis:// URL, got scheme {parts.scheme!r}")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise EnvError(name, "has a malformed port") from None
    db = parts.path.lstrip("/")
    if db and not db.isdigit():
        raise EnvError(name, f"database index must be a number, got {db!r}")
    return value


def redis_url_with_db(url: str, db: int) -> str:
    """The same Redis server with another database index (tests keep off the dev data)."""
    parts = urlsplit(url)
    return parts._replace(path=f"/{db}").geturl()
