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
    "send-inventory-digest": {
        "task": "notifications.tasks.send_inventory_digest",
        "schedule": moscow_crontab(minute="0"),
        "options": {"expires": 3000},
    },
    "sweep-pending-deliveries": {
        "task": "notifications.tasks.sweep_pending_deliveries",
        "schedule": moscow_crontab(minute="*"),
        "options": {"expires": 55},
    },
    "purge-old-notification-records": {
        "task": "notifications.tasks.purge_old_notification_records",
        "schedule": moscow_crontab(minute="40", hour="4"),
        "options": {"expires": 3600},
    },
}
