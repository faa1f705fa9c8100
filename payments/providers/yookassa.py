"""YooKassa (API v3) through the official `yookassa` SDK.

The SDK's habits we work around (STYLE.md, reliability notes):
- it invents a random idempotence key when none is given: we always pass a deterministic one
  derived from our intent id, so a retried create returns the original payment;
- it sets no HTTP timeout (its `timeout` is a retry back-off): `_TimeoutApiClient` adds one;
- a connection error surfaces as `AttributeError` (it reads `.response` of the exception):
  mapped to `ProviderUnavailable`, like 5xx and 429; other 4xx become `ProviderRejected`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import requests
from django.conf import settings
from yookassa import Configuration, Payment, Refund
from yookassa.client import ApiClient
from yookassa.domain.exceptions import (
    ApiError,
    InternalServerError,
    ResponseProcessingError,
    TooManyRequestsError,
)
from yookassa.domain.notification import WebhookNotificationFactory

from payments.providers.base import (
    CreatePayment,
    ProviderPayment,
    ProviderRefund,
    ProviderRejected,
    ProviderUnavailable,
    WebhookNotice,
)

_STATUS = {
    "pending": "pending",
    "waiting_for_capture": "held",
    "succeeded": "succeeded",
    "canceled": "canceled",
}
_http_timeout: float = 10.0


class _TimeoutApiClient(ApiClient):
    """The SDK's client with a real HTTP timeout and no hidden retries (we retry ourselves)."""

    def execute(
        self,
        body: Any,
        method: str,
        path: str,
        query_params: Any,
        request_headers: dict[str, str],
    ) -> requests.Response:
        with requests.Session() as session:
            return session.request(
                method,
                self.endpoint + path,
                params=query_params,
                headers=request_headers,
                json=body,
                verify=self.configuration.verify,
                timeout=_http_timeout,
            )


class _Payment(Payment):
    def __init__(self) -> None:
        self.client = _TimeoutApiClient()


class _Refund(Refund):
    def __init__(self) -> None:
        self.client = _TimeoutApiClient()


def _call(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except (InternalServerError, ResponseProcessingError, TooManyRequestsError) as exc:
        raise ProviderUnavailable(f"YooKassa answered {exc.HTTP_CODE}") from exc
    except ApiError as exc:
        raise ProviderRejected(f"YooKassa refused: {exc}") from exc
    except (requests.RequestException, AttributeError) as exc:
        # AttributeError: the SDK read `.response` of a connection error (it has none).
        raise ProviderUnavailable(f"YooKassa unreachable: {type(exc).__name__}") from exc
    except ValueError as exc:  # a body that is not JSON (a proxy's error page)
        raise ProviderUnavailable(f"YooKassa answered garbage: {exc}") from exc


def _payment(response: Any) -> ProviderPayment:
    confirmation = getattr(response, "confirmation", None)
    qr = getattr(confirmation, "confirmation_data", None) or ""
    details = getattr(response, "cancellation_details", None)
    return ProviderPayment(
        provider_payment_id=str(response.id),
        status=_STATUS.get(str(response.status), "pending"),
        qr_code_data=str(qr),
        cancellation_reason=str(getattr(details, "reason", "") or ""),
        receipt_registration=str(getattr(response, "receipt_registration", "") or ""),
    )


def _money(kopecks: int, currency: str) -> dict[str, str]:
    return {"value": f"{kopecks // 100}.{kopecks % 100:02d}", "currency": currency}


class YooKassaProvider:
    name: ClassVar[str] = "yookassa"

    @classmethod
    def from_settings(cls) -> YooKassaProvider:
        global _http_timeout
        # Configuration is global in the SDK; every process uses one shop.
        Configuration.configure(
            settings.YOOKASSA_SHOP_ID or "",
            settings.YOOKASSA_SECRET_KEY or "",
            api_url=settings.YOOKASSA_API_URL.rstrip("/"),
            max_attempts=1,
        )
        _http_timeout = settings.YOOKASSA_HTTP_TIMEOUT_S
        return cls()

    def create_payment(self, request: CreatePayment) -> ProviderPayment:
        params = {
            "amount": _money(request.amount, request.currency),
            "capture": not request.hold,
            "confirmation": {"type": "qr"},
            "description": request.description[:128],
            "metadata": {"intent_id": request.intent_id, **request.metadata},
        }
        if request.receipt is not None:
            params["receipt"] = request.receipt
        response = _call(_Payment.create, params, request.idempotency_key)
        return _payment(response)

    def get_payment_status(self, provider_payment_id: str) -> ProviderPayment:
        return _payment(_call(_Payment.find_one, provider_payment_id))

    def cancel_payment(self, provider_payment_id: str, idempotency_key: str) -> ProviderPayment:
        return _payment(_call(_Payment.cancel, provider_payment_id, idempotency_key))

    def capture_payment(
        self, provider_payment_id: str, amount: int, currency: str, idempotency_key: str
    ) -> ProviderPayment:
        params = {"amount": _money(amount, currency)}
        return _payment(_call(_Payment.capture, provider_payment_id, params, idempotency_key))

    def refund_payment(
        self,
        provider_payment_id: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        receipt: dict[str, Any] | None = None,
    ) -> ProviderRefund:
        params: dict[str, Any] = {
            "payment_id": provider_payment_id,
            "amount": _money(amount, currency),
        }
        if receipt is not None:
            params["receipt"] = receipt
        response = _call(_Refund.create, params, idempotency_key)
        return ProviderRefund(refund_id=str(response.id), status=str(response.status))

    def get_refund_status(self, refund_id: str) -> ProviderRefund:
        response = _call(_Refund.find_one, refund_id)
        return ProviderRefund(refund_id=str(response.id), status=str(response.status))

    def process_webhook(self, body: dict[str, Any]) -> WebhookNotice:
        try:
            notification = WebhookNotificationFactory().create(body)
            event = str(notification.event)
            obj = notification.object
            object_id = str(obj.id)
        except Exception as exc:
            raise ProviderRejected(f"not a YooKassa notification: {exc}") from exc
        payment_id = str(getattr(obj, "payment_id", None) or object_id)
        return WebhookNotice(event=event, object_id=object_id, payment_id=payment_id)
