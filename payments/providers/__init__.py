"""Payment providers behind one interface; `get_provider()` returns the configured one."""

from __future__ import annotations

from django.conf import settings

from payments.providers.base import (
    CreatePayment,
    PaymentProvider,
    ProviderError,
    ProviderPayment,
    ProviderRefund,
    ProviderRejected,
    ProviderUnavailable,
    WebhookNotice,
)

__all__ = [
    "CreatePayment",
    "PaymentProvider",
    "ProviderError",
    "ProviderPayment",
    "ProviderRefund",
    "ProviderRejected",
    "ProviderUnavailable",
    "WebhookNotice",
    "get_provider",
]


def get_provider(name: str | None = None) -> PaymentProvider:
    """The provider `name` (default: `PAYMENTS_PROVIDER`)."""
    name = name or settings.PAYMENTS_PROVIDER
    if name == "dev":
        from payments.providers.dev import DevProvider

        return DevProvider()
    if name == "yookassa":
        from payments.providers.yookassa import YooKassaProvider

        return YooKassaProvider.from_settings()
    raise ValueError(f"unknown payment provider {name!r}")
