"""How long a provider asked us to wait, read from its response headers."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

# A provider's wait longer than this is clamped: Celery delays must stay well below the Redis
# visibility timeout (STYLE.md, reliability notes).
MAX_RETRY_AFTER = 15 * 60.0


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value).strip()
    return None


def retry_after_seconds(
    headers: Mapping[str, str] | None, *, now: Callable[[], float] = time.time
) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or an HTTP date) or `X-RateLimit-Reset`
    (a Unix time, as SendGrid sends it); None when neither is usable."""
    value = _header(headers, "Retry-After")
    if value:
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = parsedate_to_datetime(value).timestamp() - now()
            except (TypeError, ValueError):
                seconds = -1.0
        if seconds >= 0:
            return min(max(seconds, 1.0), MAX_RETRY_AFTER)
    reset = _header(headers, "X-RateLimit-Reset")
    if reset:
        try:
            seconds = float(reset) - now()
        except ValueError:
            return None
        return min(max(seconds, 1.0), MAX_RETRY_AFTER)
    return None
