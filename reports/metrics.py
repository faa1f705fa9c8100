"""Report metrics (prometheus_client; multiprocess-safe, see config/metrics.py)."""

from __future__ import annotations

from prometheus_client import Counter

REPORTS_GENERATED = Counter("reports_generated", "PDF reports generated", ["kind"])
REPORTS_DELIVERED = Counter("reports_delivered", "Report deliveries sent", ["channel"])
# stage: generate, email, sms
REPORTS_FAILED = Counter("reports_failed", "Report pipeline failures", ["stage"])
