"""The PSP adapter interface. A new PSP is one new class implementing `PaymentProvider`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol


class ProviderError(Exception):
    """The PSP failed a call."""


class ProviderUnavailable(ProviderError):
    """Transient: timeout, connection error, 5xx, 429. Retry with the same idempotence key."""


class ProviderRejected(ProviderError):
    """Permanent: the PSP refused the request (4xx). Retrying the same request will not help."""


@dataclass(frozen=True)
class ProviderPayment:
    """The PSP's view of one payment. `status` is one of ours: pending, held (the client paid,
    the money waits for our capture), succeeded (captured), canceled."""

    provider_payment_id: str
    status: str
    qr_code_data: str = ""
    cancellation_reason: str = ""
    # The fiscal receipt's registration: "", pending, succeeded, canceled.
    receipt_registration: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderRefund:
    refund_id: str
    status: str  # pending, succeeded, canceled


@dataclass(frozen=True)
class WebhookNotice:
    """What a notification claims; never acted upon before the payment is re-read."""

    event: str
    object_id: str
    payment_id: str


@dataclass(frozen=True)
class CreatePayment:
    intent_id: str
    amount: int  # kopecks
    currency: str
    description: str
    idempotency_key: str
    metadata: dict[str, str] = field(default_factory=dict)
    # Hold the money until `capture_payment` (two-stage payment, YooKassa `capture: false`).
    hold: bool = True
    # The 54-FZ receipt in YooKassa's shape (customer, items, tax_system_code); None: no receipt.
    receipt: dict[str, Any] | None = None


class PaymentProvider(Protocol):
    name: ClassVar[str]

    def create_payment(self, request: CreatePayment) -> ProviderPayment: ...

    def get_payment_status(self, provider_payment_id: str) -> ProviderPayment: ...

    def cancel_payment(self, provider_payment_id: str, idempotency_key: str) -> ProviderPayment: ...

    def capture_payment(
        self, provider_payment_id: str, amount: int, currency: str, idempotency_key: str
    ) -> ProviderPayment: ...

    def refund_payment(
        self,
        provider_payment_id: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        receipt: dict[str, Any] | None = None,
    ) -> ProviderRefund: ...

    def get_refund_status(self, refund_id: str) -> ProviderRefund: ...

    def process_webhook(self, body: dict[str, Any]) -> WebhookNotice:
        """Parse a notification (raises `ProviderRejected` on a malformed one)."""
        ...
