"""The periodic schedule, defined in code (Europe/Moscow crontabs).

At beat start the scheduler (`core.beat.LeaderScheduler`, over django-celery-beat's tables) creates
each entry below that does not exist yet. From then on the admin owns its timing, its enabled flag
and its expiry: edits survive restarts. The code keeps owning what an entry runs (task, arguments,
queue), refreshed at every start. `expire_seconds` drops a tick nobody ran in time.
Each capability adds its own entries here.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from core.clock import MOSCOW


def moscow_crontab(**fields: Any) -> crontab:
    """A crontab evaluated in Europe/Moscow whatever the server's clock says."""
    schedule = crontab(**fields)
    # crontab has no tz argument: its zone is the app's unless set here (TIME_ZONE may differ).
    setattr(schedule, "tz", MOSCOW)  # noqa: B010 - read-only in the type stubs
    return schedule


SCHEDULE: dict[str, dict[str, Any]] = {
    "clear-expired-web-sessions": {
        "task": "core.tasks.clear_expired_web_sessions",
        "schedule": moscow_crontab(minute="30", hour="3"),
        "options": {"expire_seconds": 3600},
    },
    # --- Coffee points (Vendista) ---
    "vendista-import-15min": {
        "task": "vendista.tasks.schedule_imports",
        "schedule": moscow_crontab(minute="*/15"),
        "kwargs": {"window": "last_24h", "trigger": "schedule_15min"},
        "options": {"expire_seconds": 600},
    },
    "vendista-resume-stalled-runs": {
        "task": "vendista.tasks.resume_stalled_runs",
        "schedule": moscow_crontab(minute="*"),
        "options": {"expire_seconds": 55},
    },
    "vendista-terminal-sync-15min": {
        "task": "vendista.tasks.schedule_terminal_syncs",
        "schedule": moscow_crontab(minute="*/15"),
        "options": {"expire_seconds": 600},
    },
    "vendista-import-daily": {
        "task": "vendista.tasks.schedule_imports",
        "schedule": moscow_crontab(minute="0", hour="3"),
        "kwargs": {"window": "previous_day_and_today", "trigger": "schedule_daily"},
        "options": {"expire_seconds": 3600},
    },
    "vendista-import-weekly": {
        "task": "vendista.tasks.schedule_imports",
        "schedule": moscow_crontab(minute="0", hour="5", day_of_week="sun"),
        "kwargs": {"window": "last_7_days", "trigger": "schedule_weekly"},
        "options": {"expire_seconds": 3600},
    },
    "vendista-payment-check": {
        "task": "vendista.tasks.check_payment_statuses",
        "schedule": moscow_crontab(minute="0", hour="4"),
        "options": {"expire_seconds": 3600},
    },
    "vendista-purge-old-runs": {
        "task": "vendista.tasks.purge_old_import_runs",
        "schedule": moscow_crontab(minute="45", hour="4"),
        "options": {"expire_seconds": 3600},
    },
    "tasks-hide-finished": {
        "task": "tasks_app.tasks.hide_finished_tasks",
        "schedule": moscow_crontab(minute="59", hour="23"),
        "options": {"expire_seconds": 3600},
    },
    # --- The bot: owners' alerts (offline terminals, no sales, Vendista trouble) ---
    "phone-owner-alerts-5min": {
        "task": "phone.tasks.check_alerts",
        "schedule": moscow_crontab(minute="*/5"),
        "options": {"expire_seconds": 240},
    },
    # --- Kiosks, payments and reports ---
    "expire-kiosk-sessions": {
        "task": "kiosk.tasks.expire_sessions",
        "schedule": moscow_crontab(minute="*"),
        "options": {"expire_seconds": 55},
    },
    "expire-payment-intents": {
        "task": "payments.tasks.expire_payment_intents",
        "schedule": moscow_crontab(minute="*"),
        "options": {"expire_seconds": 55},
    },
    "sweep-due-dev-payments": {
        "task": "payments.tasks.sweep_due_dev_intents",
        "schedule": moscow_crontab(minute="*"),
        "options": {"expire_seconds": 55},
    },
    "poll-pending-payments": {
        "task": "payments.tasks.poll_payment_intents",
        "schedule": moscow_crontab(minute="*"),
        "options": {"expire_seconds": 55},
    },
    "send-inventory-digest": {
        "task": "inventory.tasks.send_inventory_digest",
        "schedule": moscow_crontab(minute="0"),
        "options": {"expire_seconds": 3000},
    },
    # Re-queues every unit of work PostgreSQL holds that is due and not claimed (core.sweeps).
    "sweep-due-work": {
        "task": "core.tasks.sweep_due_work",
        "schedule": moscow_crontab(minute="*"),
        "options": {"expire_seconds": 55},
    },
    "purge-old-notification-records": {
        "task": "notifications.tasks.purge_old_notification_records",
        "schedule": moscow_crontab(minute="40", hour="4"),
        "options": {"expire_seconds": 3600},
    },
}
