"""Payment metrics (prometheus_client; multiprocess-safe, see config/metrics.py)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# No labels on purpose: the seed's alert `rate(payments_failed_total[5m]) /
# rate(payments_intents_total[5m])` must match label sets one-to-one (see deploy/prometheus).
PAYMENTS_INTENTS = Counter("payments_intents", "Payment intents created")
PAYMENTS_CONFIRMED = Counter("payments_confirmed", "Payments succeeded", ["provider"])
# reason: canceled, expired, session_expired, provider_error, late_success_refunded, ...
PAYMENTS_FAILED = Counter("payments_failed", "Payments that did not succeed", ["reason"])
PAYMENTS_DURATION = Histogram(
    "payments_duration_seconds",
    "Intent creation to its terminal state",
    ["status"],
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 900, 1800),
)
RECEIPTS_FAILED = Counter("payments_receipts_failed", "Fiscal receipts refused or not registered")
PAYMENTS_CAPTURED = Counter("payments_captured", "Held payments captured (service delivered)")
