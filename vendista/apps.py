from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VendistaConfig(AppConfig):
    name = "vendista"
    verbose_name = _("Vendista")

    def ready(self) -> None:
        from core.metrics import register_collector
        from vendista import metrics

        register_collector("vendista", metrics.collect)
