"""Delivery metrics (prometheus_client; multiprocess-safe, see core/metrics.py)."""

from __future__ import annotations

from prometheus_client import Counter

# channel: telegram, email, sms (the registered channel names); outcome: sent, failed (a
# transient failure, retried later), permanently_failed. Waiting, skipped and rate-limited
# attempts sent nothing and are not counted.
DELIVERIES = Counter(
    "notifications_deliveries", "Delivery attempts by outcome", ["channel", "outcome"]
)
