from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from core import sweeps
        from notifications import alerts, services

        sweeps.register("notifications.deliveries", services.sweep_pending)
        sweeps.register("notifications.admin_alerts", alerts.flush_due)
