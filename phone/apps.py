from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PhoneConfig(AppConfig):
    """The Telegram bot's menus and the service staff's Mini App."""

    name = "phone"
    verbose_name = _("Telegram bot and Mini App")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from notifications.bot import register_update_handler
        from phone.bot.app import process_update

        register_update_handler(process_update)
