"""The periodic schedule, defined in code (Europe/Moscow crontabs).

At beat start django-celery-beat's DatabaseScheduler writes these entries into its tables, where
staff can pause or re-time them in the admin; a restart restores the definitions below.
Each capability adds its own entries here.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from celery.schedules import crontab

MOSCOW = "Europe/Moscow"


def moscow_crontab(**fields: Any) -> crontab:
    """A crontab evaluated in Europe/Moscow whatever the server's clock says."""
    schedule = crontab(**fields)
    # crontab has no tz argument: its zone is the app's unless set here (TIME_ZONE may differ).
    setattr(schedule, "tz", ZoneInfo(MOSCOW))  # noqa: B010 - read-only in the type stubs
    return schedule


SCHEDULE: dict[str, dict[str, Any]] = {
    "clear-expired-web-sessions": {
        "task": "config.tasks.clear_expired_web_sessions",
        "schedule": moscow_crontab(minute="30", hour="3"),
        "options": {"expires": 3600},
    },
    # --- Kiosks, payments and reports ---
    "expire-kiosk-sessions": {
        "task": "kiosk.tasks.expire_sessions",
        "schedule": moscow_crontab(minute="*"),
        "options": {"expires": 55},
    },
    "expire-payment-intents": {
        "task": "payments.tasks.expire_payment_intents",
        "schedule": moscow_crontab(minute="*"),
        "options": {"expires": 55},
    },
    "sweep-due-dev-payments": {
        "task": "payments.tasks.sweep_due_dev_intents",
        "schedule": moscow_crontab(minute="*"),
        "options": {"expires": 55},
    },
    "poll-pending-payments": {
        "task": "payments.tasks.poll_payment_intents",
        "schedule": moscow_crontab(minute="*"),
        "options": {"expires": 55},
    },
}
