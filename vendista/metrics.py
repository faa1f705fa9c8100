"""Coffee-side metrics: Vendista calls, imports, runs and owners (prometheus_client; counted in
any process, multiprocess-safe, see core/metrics.py).

Cardinality: no counter carries an owner. `endpoint` is one of the client's few paths
(`/token`, `/transactions`, `/terminals`), `status` an HTTP status class or code from a fixed
set, `kind`/`status` of a run come from the model's choices. Per-owner figures are read at
scrape time (`collect()`) as fleet aggregates; the one per-owner series,
`vendista_owner_import_lag_seconds{owner_id}`, is exported only while the fleet has at most
`METRICS_PER_OWNER_MAX` importable owners (0: never), so a large fleet cannot blow up the
series count.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric

# status: 200, 401, 402, 404, 429, 4xx (other client errors), 5xx, error (no answer: timeout,
# connection refused).
REQUESTS = Counter("vendista_requests", "Requests made to the Vendista API", ["endpoint", "status"])
TOKEN_REFRESHES = Counter("vendista_token_refreshes", "New Vendista tokens from stored credentials")
OWNERS_SUSPENDED = Counter(
    "vendista_owners_suspended", "Owners moved to payment_required after a Vendista 402"
)
LOCK_WAITS = Counter(
    "vendista_lock_waits", "Run attempts that found their owner busy (OwnerBusy) and retry later"
)
RUNS_RESUMED = Counter(
    "vendista_runs_resumed", "Interrupted runs queued again by the stalled-run sweep", ["kind"]
)
RUNS_FINISHED = Counter("vendista_runs_finished", "Runs that ended", ["kind", "status"])
PAGES_IMPORTED = Counter("vendista_import_pages", "Transaction pages imported and committed")
TRANSACTIONS_FETCHED = Counter(
    "vendista_import_transactions_fetched", "Transactions read from Vendista pages"
)
TRANSACTIONS_INSERTED = Counter(
    "vendista_import_transactions_inserted", "Transactions stored for the first time"
)

_KNOWN_STATUSES = {200, 401, 402, 404, 429}
# The lag thresholds of `vendista_owners_import_lagging{over}`, in seconds.
LAG_THRESHOLDS = (900, 3600, 6 * 3600, 24 * 3600)


def status_label(status: int | None) -> str:
    """The bounded `status` label of an answer (None: no answer at all)."""
    if status is None:
        return "error"
    if status in _KNOWN_STATUSES:
        return str(status)
    return f"{status // 100}xx"


# --- scrape time ---------------------------------------------------------------------------------

# Every importable owner with the end of its last fully imported window: the newest succeeded
# import by creation (windows end when they are queued, so the newest is also the latest end),
# found per owner through the importrun_recent index. An owner never imported counts from the
# time its connection was made.
_LAG_SQL = """
SELECT a.owner_id, COALESCE(last.date_to, a.created_at)
FROM vendista_vendistaaccount a
LEFT JOIN LATERAL (
    SELECT r.date_to FROM vendista_importrun r
    WHERE r.owner_id = a.owner_id AND r.kind = 'import' AND r.status = 'succeeded'
      AND r.date_to IS NOT NULL
    ORDER BY r.created_at DESC
    LIMIT 1
) last ON TRUE
WHERE a.imports_enabled AND a.payment_status = 'active' AND a.token_status <> 'invalid_creds'
  AND (a.login_encrypted <> '' OR a.token_encrypted <> '')
"""


def owner_lags(now: datetime | None = None) -> dict[int, float]:
    """Seconds since the end of each importable owner's last fully imported window."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_LAG_SQL)
        rows = cursor.fetchall()
    return {int(owner_id): max(0.0, (now - end).total_seconds()) for owner_id, end in rows}


def collect() -> Iterator[Metric]:
    """The fleet's import lag, owners in payment_required and active runs, from PostgreSQL."""
    lags = owner_lags()
    yield GaugeMetricFamily(
        "vendista_importable_owners", "Owners the schedules import", value=len(lags)
    )
    yield GaugeMetricFamily(
        "vendista_import_lag_max_seconds",
        "The largest import lag over importable owners (now - end of the last imported window)",
        value=max(lags.values(), default=0.0),
    )
    lagging = GaugeMetricFamily(
        "vendista_owners_import_lagging",
        "Importable owners whose import lag is over `over` seconds",
        labels=["over"],
    )
    for threshold in LAG_THRESHOLDS:
        lagging.add_metric([str(threshold)], sum(1 for lag in lags.values() if lag > threshold))
    yield lagging
    if 0 < len(lags) <= settings.METRICS_PER_OWNER_MAX:
        per_owner = GaugeMetricFamily(
            "vendista_owner_import_lag_seconds",
            "One owner's import lag (only while the fleet is small, METRICS_PER_OWNER_MAX)",
            labels=["owner_id"],
        )
        for owner_id, lag in sorted(lags.items()):
            per_owner.add_metric([str(owner_id)], lag)
        yield per_owner
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM vendista_vendistaaccount WHERE payment_status = %s",
            ["payment_required"],
        )
        (suspended,) = cursor.fetchone()
        cursor.execute(
            "SELECT kind, status, count(*) FROM vendista_importrun "
            "WHERE status IN ('queued', 'running') GROUP BY kind, status"
        )
        active = {(kind, status): count for kind, status, count in cursor.fetchall()}
    yield GaugeMetricFamily(
        "vendista_owners_payment_required",
        "Owners whose Vendista account answered 402 (imports suspended)",
        value=suspended,
    )
    runs = GaugeMetricFamily(
        "vendista_runs_active", "Import and sync runs queued or running", labels=["kind", "state"]
    )
    for kind in ("import", "sync", "payment_check"):
        for state in ("queued", "running"):
            runs.add_metric([kind, state], active.get((kind, state), 0))
    yield runs
