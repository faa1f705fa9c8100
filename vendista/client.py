"""The Vendista API client: one `requests.Session`, explicit timeouts, shared rate limits.

Every call is a GET with the token in the query string (never in logs). Status codes become
distinct exceptions in `_request()`; a 401/404 on a data call refreshes the token once (with the
credentials it was given) and retries the same request with the new token; 429 waits for
`Retry-After`; 5xx and timeouts are retried with exponential backoff, a bounded number of times.
The client returns plain dataclasses and imports no Django models.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
import requests

from core.clock import MOSCOW
from core.ratelimit import Bucket, RateLimiter, RateLimitTimeout
from vendista import metrics

logger = logging.getLogger(__name__)

TOKEN_TIMEOUT = 15.0
MAX_PAGE_SIZE = 1000


class VendistaError(Exception):
    """Base of every Vendista failure."""


class VendistaUnauthorized(VendistaError):
    """401/404: the token is not accepted (data calls) or the credentials are wrong (/token)."""


class VendistaInvalidCredentials(VendistaUnauthorized):
    """/token refused the stored login and password."""


class VendistaPaymentRequired(VendistaError):
    """402: the owner's Vendista subscription is unpaid."""


class VendistaUnavailable(VendistaError):
    """5xx, 429, timeouts, connection errors: transient, worth retrying later."""


class VendistaRejected(VendistaError):
    """Any other refusal (400, unexpected answers): permanent for this request."""


@dataclass(frozen=True, slots=True)
class VendistaTerminal:
    id: int
    comment: str
    serial_number: str
    last_online_time: datetime | None
    last_hour_online: int

    @property
    def is_online(self) -> bool:
        return self.last_hour_online > 0


@dataclass(frozen=True, slots=True)
class RawPage:
    """One `/transactions` answer: its paging figures, and its items array as the JSON text
    Vendista sent (the pipeline hands it to PostgreSQL untouched)."""

    items_text: str
    items: int
    page_number: int
    items_count: int
    items_per_page: int


_ITEMS_FIRST = re.compile(r'\s*\{\s*"items"\s*:\s*')
_DECODER = json.JSONDecoder()


def split_page(body: str) -> RawPage:
    """Separate the items array from the paging figures, checking the JSON on the way.

    Vendista puts `items` first: the array is decoded once to find its end, and its own text is
    kept; any other layout is decoded whole and the items re-encoded."""
    try:
        match = _ITEMS_FIRST.match(body)
        if match:
            items, end = _DECODER.raw_decode(body, match.end())
            doc = json.loads('{"items": []' + body[end:])
            items_text = body[match.end() : end]
        else:
            doc = json.loads(body)
            items = doc.get("items") if isinstance(doc, dict) else None
            items_text = json.dumps(items, ensure_ascii=False)
    except ValueError as exc:
        raise VendistaRejected("/transactions answered with malformed JSON") from exc
    if not isinstance(doc, dict):
        doc = {}
    if not isinstance(items, list):
        items, items_text = [], "[]"
    return RawPage(
        items_text=items_text,
        items=len(items),
        page_number=_int(doc.get("page_number")),
        items_count=_int(doc.get("items_count")),
        items_per_page=_int(doc.get("items_per_page")),
    )


class Pager:
    """Walks the pages of a window, reading the paging back from each answer: the page count is
    `items_count / items_per_page` (capped one above the first figure, against loops), and an
    empty or short page ends it."""

    def __init__(self, requested_size: int) -> None:
        self.requested_size = requested_size
        self.page = 1
        self.total: int | None = None
        self.limit: int | None = None

    def expects(self, page: int) -> bool:
        """Whether the answers so far promise `page` (for fetching it ahead)."""
        return (
            self.total is not None
            and self.limit is not None
            and page <= min(self.total, self.limit)
        )

    def advance(
        self, *, items: int, items_count: int, items_per_page: int, page_number: int
    ) -> bool:
        """Account for the current page's answer; True (and the next page number) if more."""
        if not items:
            return False
        if page_number and items_count and items_per_page:
            total = self.total = -(-items_count // items_per_page)
            self.limit = total + 1 if self.limit is None else min(self.limit, total + 1)
            if self.page >= total:
                return False
        if items < (items_per_page or self.requested_size):
            return False
        if self.limit is not None and self.page >= self.limit:
            return False
        self.page += 1
        return True


def parse_vendista_time(value: Any) -> datetime | None:
    """Vendista's timestamps: naive Europe/Moscow local time (`T` or space, optional fraction,
    optional offset) → an aware datetime."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=MOSCOW)


def format_vendista_time(moment: datetime) -> str:
    """An aware datetime → the naive Moscow form Vendista expects (`YYYY-MM-DDTHH:MM:SS`)."""
    return moment.astimezone(MOSCOW).strftime("%Y-%m-%dT%H:%M:%S")


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class VendistaClient:
    """One owner's view of the Vendista API."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str = "",
        rate_key: str = "anonymous",
        credentials: tuple[str, str] | None = None,
        limiter: RateLimiter | None = None,
        rate_per_token: float = 1.0,
        rate_global: float = 5.0,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff_base: float = 2.0,
        page_size: int = MAX_PAGE_SIZE,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rate_timeout: float | None = None,
        max_wait: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._credentials = credentials
        self._limiter = limiter or RateLimiter()
        self._buckets = [
            Bucket(f"vendista:owner:{rate_key}", rate=rate_per_token),
            Bucket("vendista:all", rate=rate_global, burst=max(1.0, rate_global)),
        ]
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        self._session = session or requests.Session()
        self._sleep = sleep
        # The longest single wait (Retry-After, backoff, our shared rate limit; None: as long as
        # it takes): a caller holding a lease, or with a person waiting, sets it and a longer
        # ask fails as VendistaUnavailable instead.
        self.max_wait = max_wait
        self.rate_timeout: float | None = rate_timeout
        if max_wait is not None:
            self.rate_timeout = max_wait if rate_timeout is None else min(rate_timeout, max_wait)
        self.requests_made = 0
        self.refreshes = 0

    def close(self) -> None:
        self._session.close()

    # --- the public calls ---------------------------------------------------------------------

    def get_token(self, login: str, password: str) -> str:
        """A new token for the credentials (401/404 → VendistaInvalidCredentials, 402 → payment)."""
        try:
            body = self._request(
                "/token",
                {"login": login, "password": password},
                timeout=TOKEN_TIMEOUT,
                with_token=False,
            )
        except VendistaUnauthorized as exc:
            raise VendistaInvalidCredentials("Vendista refused the login or password") from exc
        token = body.get("token") if isinstance(body, dict) else None
        if not token or not isinstance(token, str):
            error = body.get("error") if isinstance(body, dict) else None
            raise VendistaInvalidCredentials(str(error or "Vendista returned no token"))
        return token

    def get_transactions_page(self, date_from: datetime, date_to: datetime, page: int) -> RawPage:
        """One page of `/transactions`: paging figures and the items' own JSON text."""
        body = self._request(
            "/transactions",
            {
                "DateFrom": format_vendista_time(date_from),
                "DateTo": format_vendista_time(date_to),
                "PageNumber": page,
                "ItemsOnPage": self.page_size,
            },
            raw=True,
        )
        assert isinstance(body, str)
        return split_page(body)

    def get_terminals(self) -> list[VendistaTerminal]:
        """Every terminal of the account, all pages."""
        terminals: list[VendistaTerminal] = []
        page_number = 1
        while True:
            body = self._request(
                "/terminals", {"PageNumber": page_number, "ItemsOnPage": MAX_PAGE_SIZE}
            )
            items = body.get("items") or []
            for raw in items:
                if not isinstance(raw, dict) or raw.get("id") is None:
                    continue
                terminals.append(
                    VendistaTerminal(
                        id=_int(raw["id"]),
                        comment=str(raw.get("comment") or ""),
                        serial_number=str(raw.get("serial_number") or ""),
                        last_online_time=parse_vendista_time(raw.get("last_online_time")),
                        last_hour_online=_int(raw.get("last_hour_online")),
                    )
                )
            count, per_page = _int(body.get("items_count")), _int(body.get("items_per_page"))
            if not items or not count or not per_page or page_number * per_page >= count:
                return terminals
            page_number += 1

    def token_wait(self) -> float:
        """Seconds until this owner's own rate limit (per token) allows the next request, taking
        nothing (0 when it allows it now, or when the limit cannot be read)."""
        try:
            return self._limiter.wait_for(self._buckets[:1])
        except redis.RedisError:
            return 0.0

    def refresh(self) -> str:
        """A new token from the credentials; the caller stores `self.token` afterwards."""
        assert self._credentials is not None
        self.token = self.get_token(*self._credentials)
        self.refreshes += 1
        metrics.TOKEN_REFRESHES.inc()
        return self.token

    # --- where HTTP happens -----------------------------------------------------------------

    def _request(
        self,
        path: str,
        params: dict[str, Any],
        *,
        timeout: float | None = None,
        with_token: bool = True,
        raw: bool = False,
    ) -> Any:
        refreshed = False
        if with_token and not self.token and self._credentials is not None:
            # No token stored yet (new connection, or one that could not be decrypted).
            refreshed = True
            self.refresh()
        attempt = 0
        while True:
            attempt += 1
            query = dict(params)
            if with_token:
                query["token"] = self.token
            try:
                self._limiter.acquire(self._buckets, timeout=self.rate_timeout)
            except RateLimitTimeout as exc:
                raise VendistaUnavailable(f"{path}: our Vendista rate limit is busy") from exc
            except redis.RedisError as exc:
                # The shared limit lives in Redis: while Redis is away, the call is transient.
                raise VendistaUnavailable(f"{path}: our rate limit is unreachable") from exc
            self.requests_made += 1
            try:
                response = self._session.get(
                    self.base_url + path, params=query, timeout=timeout or self.timeout
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                metrics.REQUESTS.labels(endpoint=path, status=metrics.status_label(None)).inc()
                error: VendistaError = VendistaUnavailable(f"{path}: {type(exc).__name__}")
                self._backoff_or_raise(path, attempt, error, None)
                continue
            status = response.status_code
            metrics.REQUESTS.labels(endpoint=path, status=metrics.status_label(status)).inc()
            if status == 200:
                if raw:
                    return response.content.decode("utf-8", errors="replace")
                try:
                    body = response.json()
                except ValueError as exc:
                    raise VendistaRejected(f"{path}: answer is not JSON") from exc
                if not isinstance(body, dict):
                    body = {"items": body}
                return body
            if status in (401, 404):
                if with_token and not refreshed and self._credentials is not None:
                    refreshed = True
                    logger.info("vendista %s answered %s; refreshing the token", path, status)
                    self.refresh()
                    continue
                raise VendistaUnauthorized(f"{path}: HTTP {status}")
            if status == 402:
                raise VendistaPaymentRequired(f"{path}: HTTP 402 payment required")
            if status == 429:
                retry_after = _retry_after(response)
                self._backoff_or_raise(
                    path, attempt, VendistaUnavailable(f"{path}: HTTP 429"), retry_after
                )
                continue
            if status >= 500:
                self._backoff_or_raise(
                    path, attempt, VendistaUnavailable(f"{path}: HTTP {status}"), None
                )
                continue
            raise VendistaRejected(f"{path}: HTTP {status} {_error_text(response)}")

    def _backoff_or_raise(
        self, path: str, attempt: int, error: VendistaError, retry_after: float | None
    ) -> None:
        if attempt >= self.max_attempts:
            raise error
        delay = self.backoff_base * (2 ** (attempt - 1)) * (1 + random.random() / 2)  # noqa: S311
        if retry_after is not None:
            delay = max(delay, retry_after)
        if self.max_wait is not None and delay > self.max_wait:
            # Waiting this long in-process could outlast the lease: retry the run later instead.
            raise VendistaUnavailable(f"{error}; asked to wait {delay:.0f} s") from error
        logger.warning(
            "vendista %s failed (%s); attempt %s/%s, retrying in %.1f s",
            path,
            error,
            attempt,
            self.max_attempts,
            delay,
        )
        self._sleep(delay)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or "")[:200]
    return ""
