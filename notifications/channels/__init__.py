"""Notification channels: one small class per transport; `get_channel(kind)` picks the one the
settings name (`TELEGRAM_PROVIDER`, `EMAIL_PROVIDER`, `SMS_PROVIDER`)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from notifications.channels.base import (
    Attachment,
    Channel,
    DeliveryError,
    OutgoingMessage,
    SendResult,
)
from notifications.channels.dev import DevOutboxChannel

__all__ = [
    "Attachment",
    "Channel",
    "DeliveryError",
    "OutgoingMessage",
    "SendResult",
    "get_channel",
]

_PROVIDER_SETTING = {
    "telegram": "TELEGRAM_PROVIDER",
    "email": "EMAIL_PROVIDER",
    "sms": "SMS_PROVIDER",
}


def get_channel(kind: str) -> Channel:
    """The configured channel for `kind` ("telegram", "email" or "sms")."""
    provider = getattr(settings, _PROVIDER_SETTING[kind])
    if provider == "dev":
        return DevOutboxChannel(kind)
    if kind in ("email", "sms"):
        return _email_or_sms_channel(kind, provider)
    if kind == "telegram" and provider == "telegram":
        from notifications.channels.telegram import TelegramChannel

        return TelegramChannel()
    raise NotImplementedError(f"{kind} provider {provider!r} is not available yet")


# --- E-mail and SMS ----------------------------------------------------------------------------


def _email_or_sms_channel(kind: str, provider: str) -> Channel:
    """The real e-mail or SMS transport; imported here so the SDKs load only when used."""
    from notifications.channels.email import SendGridEmailChannel, SmtpEmailChannel
    from notifications.channels.sms import SmscSmsChannel, TwilioSmsChannel

    channels: dict[str, dict[str, type[Channel]]] = {
        "email": {"smtp": SmtpEmailChannel, "sendgrid": SendGridEmailChannel},
        "sms": {"smsc": SmscSmsChannel, "twilio": TwilioSmsChannel},
    }
    if provider not in channels[kind]:
        raise ImproperlyConfigured(f"{_PROVIDER_SETTING[kind]}: unknown provider {provider!r}")
    return channels[kind][provider]()
