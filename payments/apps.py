from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        # A session that expires takes its unpaid intents with it.
        from core import sweeps
        from kiosk.services import on_session_expired
        from payments.services import cancel_session_intents, webhooks

        on_session_expired(cancel_session_intents)
        # Notifications whose processing was lost are processed again (core.sweeps).
        sweeps.register("payments.webhooks", webhooks.sweep_unprocessed)
