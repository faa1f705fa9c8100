"""DEV emulator: no money moves. The outcome is decided by our own emulator task (payments.tasks)
or by `POST /api/payments/confirm/{id}`; the "PSP state" is our own row."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings

from payments.providers.base import (
    CreatePayment,
    ProviderPayment,
    ProviderRefund,
    ProviderRejected,
    WebhookNotice,
)


class DevProvider:
    name: ClassVar[str] = "dev"

    def create_payment(self, request: CreatePayment) -> ProviderPayment:
        payment_id = f"dev-{request.intent_id}"
        # An SBP-like link the kiosk renders as a QR code; the test shop cannot do SBP.
        qr = f"{settings.PUBLIC_BASE_URL}/dev-pay/{request.intent_id}?sum={request.amount}"
        return ProviderPayment(provider_payment_id=payment_id, status="pending", qr_code_data=qr)

    def _own(self, provider_payment_id: str) -> ProviderPayment:
        from payments.models import PaymentIntent

        intent = PaymentIntent.objects.filter(provider_payment_id=provider_payment_id).first()
        if intent is None:  # as YooKassa answers for an id it never issued
            raise ProviderRejected(f"payment {provider_payment_id!r} not found")
        # Like YooKassa's two-stage payment: paid money is held until captured or released.
        status = "canceled"
        if intent.status == "pending":
            status = "pending"
        elif intent.status == "succeeded":
            status = {"held": "held", "captured": "succeeded"}.get(
                intent.capture_status, "canceled"
            )
        return ProviderPayment(provider_payment_id=provider_payment_id, status=status)

    def get_payment_status(self, provider_payment_id: str) -> ProviderPayment:
        return self._own(provider_payment_id)

    def cancel_payment(self, provider_payment_id: str, idempotency_key: str) -> ProviderPayment:
        return ProviderPayment(provider_payment_id=provider_payment_id, status="canceled")

    def capture_payment(
        self, provider_payment_id: str, amount: int, currency: str, idempotency_key: str
    ) -> ProviderPayment:
        return ProviderPayment(provider_payment_id=provider_payment_id, status="succeeded")

    def refund_payment(
        self,
        provider_payment_id: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        receipt: dict[str, Any] | None = None,
    ) -> ProviderRefund:
        return ProviderRefund(refund_id=f"dev-refund-{provider_payment_id}", status="succeeded")

    def get_refund_status(self, refund_id: str) -> ProviderRefund:
        return ProviderRefund(refund_id=refund_id, status="succeeded")

    def process_webhook(self, body: dict[str, Any]) -> WebhookNotice:
        raise ProviderRejected("the DEV emulator sends no webhooks")
