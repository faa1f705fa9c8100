"""Session and diagnostics metrics (prometheus_client; multiprocess-safe, see core/metrics.py)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SESSIONS_CREATED = Counter("sessions_created", "Kiosk sessions created", ["type"])
SESSIONS_COMPLETED = Counter("sessions_completed", "Kiosk sessions completed", ["type"])
SESSIONS_EXPIRED = Counter("sessions_expired", "Kiosk sessions expired", ["type"])
# Set to the database count after every change; "mostrecent" keeps the latest value written by
# any process (web or worker) in multiprocess mode.
SESSIONS_ACTIVE = Gauge(
    "sessions_active", "Kiosk sessions currently active", multiprocess_mode="mostrecent"
)
SESSION_DURATION = Histogram(
    "session_duration_seconds",
    "Session creation to completion or expiry",
    ["outcome"],
    buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200),
)
DIAGNOSTICS_SCANS = Counter("diagnostics_scans", "OBD-II diagnostic scans reported")
DIAGNOSTICS_DTC_FOUND = Counter(
    "diagnostics_dtc_found", "Diagnostic trouble codes found", ["severity"]
)
DIAGNOSTICS_DURATION = Histogram(
    "diagnostics_duration_seconds",
    "Duration of one diagnostic scan",
    buckets=(5, 10, 20, 30, 60, 120, 300, 600),
)
