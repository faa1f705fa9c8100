from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from core import sweeps
        from notifications.services import on_finished
        from reports import services

        sweeps.register("reports.generation", services.sweep_reports)
        on_finished(services.DELIVERY_SOURCE, services.delivery_finished)
