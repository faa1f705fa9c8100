"""Fault switches of the Vendista sandbox, settable from Python and over HTTP as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

API_PATHS = ("/token", "/transactions", "/terminals", "/coffee_shop")


@dataclass
class FailRule:
    """Answer `status` to the next `times` requests of a path (and page, when given)."""

    status: int = 503
    page: int | None = None
    times: int = 1

    def matches(self, page: int | None) -> bool:
        return self.times > 0 and (self.page is None or self.page == page)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "page": self.page, "times": self.times}

    @classmethod
    def from_value(cls, value: Any) -> FailRule:
        if not isinstance(value, Mapping):
            raise ValueError("a fail_next rule is an object with status, page and times")
        unknown = set(value) - {"status", "page", "times"}
        if unknown:
            raise ValueError(f"unknown fail_next fields: {sorted(unknown)}")
        status = int(value.get("status", 503))
        if not 100 <= status <= 599:
            raise ValueError(f"fail_next status {status} is not an HTTP status")
        page = value.get("page")
        times = int(value.get("times", 1))
        if times < 1:
            raise ValueError("fail_next times must be at least 1")
        return cls(status=status, page=int(page) if page is not None else None, times=times)


@dataclass
class SandboxFaults:
    """What the sandbox gets wrong on purpose. All off by default.

    - `latency_s`: sleep before answering every API request.
    - `error_rate`: probability of a 500/502/503 on data calls (seeded by `error_seed`).
    - `fail_next`: per path, rules that fail the next matching requests with a status.
    - `expire_token_after`: a token answers 401 after this many data requests, for good.
    - `unpaid_logins`: logins answered 402 on /token and data calls.
    - `rate_limit_per_s` / `retry_after_s`: above this many data requests per second per token,
      429 with a `Retry-After` header.
    - `not_found_for_bad_token` / `not_found_for_bad_credentials`: 404 instead of 401.
    - `token_soft_error`: /token answers 200 with `{"success": false, "error": <text>}` and no
      token, as Vendista may do.
    """

    latency_s: float = 0.0
    error_rate: float = 0.0
    error_seed: int = 0
    fail_next: dict[str, list[FailRule]] = field(default_factory=dict)
    expire_token_after: int | None = None
    unpaid_logins: set[str] = field(default_factory=set)
    rate_limit_per_s: float | None = None
    retry_after_s: int = 1
    not_found_for_bad_token: bool = False
    not_found_for_bad_credentials: bool = False
    token_soft_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "latency_s": self.latency_s,
            "error_rate": self.error_rate,
            "error_seed": self.error_seed,
            "fail_next": {
                path: [rule.to_dict() for rule in rules if rule.times > 0]
                for path, rules in self.fail_next.items()
                if any(rule.times > 0 for rule in rules)
            },
            "expire_token_after": self.expire_token_after,
            "unpaid_logins": sorted(self.unpaid_logins),
            "rate_limit_per_s": self.rate_limit_per_s,
            "retry_after_s": self.retry_after_s,
            "not_found_for_bad_token": self.not_found_for_bad_token,
            "not_found_for_bad_credentials": self.not_found_for_bad_credentials,
            "token_soft_error": self.token_soft_error,
        }

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply a partial update (names as in `to_dict`); a bad value raises ValueError and
        changes nothing. `fail_next` rules are added to the ones pending (null clears them)."""
        unknown = set(changes) - set(self.to_dict())
        if unknown:
            raise ValueError(f"unknown fault switches: {sorted(unknown)}")
        staged = _validated(changes)
        for name, value in staged.items():
            if name == "fail_next" and value is None:
                self.fail_next = {}
            elif name == "fail_next":
                for path, rules in value.items():
                    self.fail_next.setdefault(path, []).extend(rules)
            else:
                setattr(self, name, value)

    def add_fail_rule(self, path: str, rule: FailRule) -> None:
        self.fail_next.setdefault(normalize_path(path), []).append(rule)

    def take_fail_rule(self, path: str, page: int | None) -> int | None:
        """Consume one matching fail_next rule; the status to answer, or None."""
        for rule in self.fail_next.get(path, []):
            if rule.matches(page):
                rule.times -= 1
                return rule.status
        return None


def normalize_path(path: str) -> str:
    value = "/" + path.strip().strip("/").lower()
    if value not in API_PATHS:
        raise ValueError(f"unknown API path {path!r}; expected one of {list(API_PATHS)}")
    return value


def _optional_number(value: Any, name: str, *, positive: bool) -> float | None:
    if value is None:
        return None
    number = float(value)
    if number < 0 or (positive and number == 0):
        raise ValueError(f"{name} must be {'positive' if positive else 'zero or more'}")
    return number


def _validated(changes: Mapping[str, Any]) -> dict[str, Any]:
    staged: dict[str, Any] = {}
    for name, value in changes.items():
        if name in ("latency_s",):
            staged[name] = _optional_number(value, name, positive=False) or 0.0
        elif name == "error_rate":
            rate = float(value or 0)
            if not 0 <= rate <= 1:
                raise ValueError("error_rate must be between 0 and 1")
            staged[name] = rate
        elif name == "error_seed":
            staged[name] = int(value or 0)
        elif name == "fail_next":
            staged[name] = None if value is None else _fail_rules(value)
        elif name == "expire_token_after":
            limit = _optional_number(value, name, positive=False)
            staged[name] = None if limit is None else int(limit)
        elif name == "unpaid_logins":
            if isinstance(value, str) or not isinstance(value, list | tuple | set):
                raise ValueError("unpaid_logins must be a list of logins")
            staged[name] = {str(login) for login in value}
        elif name == "rate_limit_per_s":
            staged[name] = _optional_number(value, name, positive=True)
        elif name == "retry_after_s":
            seconds = int(value)
            if seconds < 0:
                raise ValueError("retry_after_s must be zero or more")
            staged[name] = seconds
        elif name in ("not_found_for_bad_token", "not_found_for_bad_credentials"):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false")
            staged[name] = value
        elif name == "token_soft_error":
            staged[name] = None if value is None else str(value)
    return staged


def _fail_rules(value: Any) -> dict[str, list[FailRule]]:
    if not isinstance(value, Mapping):
        raise ValueError('fail_next is an object: {"/transactions": {"page": 3, "status": 503}}')
    rules: dict[str, list[FailRule]] = {}
    for path, spec in value.items():
        items = spec if isinstance(spec, list) else [spec]
        rules[normalize_path(path)] = [FailRule.from_value(item) for item in items]
    return rules
