"""Payment intents: create, settle (DEV emulator, webhook, poll), hold and capture, release,
expire, late-success refund, receipts. One module per concern; this package re-exports them.

Every status change is a conditional `UPDATE ... WHERE status = 'pending'` (or a row lock), so a
webhook, the poller, the emulator and the expiry sweep can race without a double transition; the
terminal states never change again. A success the PSP reports for an intent we already closed is
given back through the PSP with its own idempotence key.
"""

from __future__ import annotations

from payments.services.capture import (
    capture_intent,
    paid_intent,
    release_session_payment,
    request_capture,
)
from payments.services.intents import (
    PROVIDER_ACTOR,
    AmountMismatch,
    PaymentConflict,
    apply_provider_payment,
    confirm_dev_intent,
    confirm_intent,
    create_intent,
    refund_late_success,
    register_at_provider,
    release_intent,
    status_document,
    sweep_due_dev_intents,
)
from payments.services.receipts import build_receipt, price_for
from payments.services.sweeps import (
    cancel_intent,
    cancel_session_intents,
    expire_intents,
    poll_intents,
    release_undelivered,
)
from payments.services.webhooks import (
    is_trusted_webhook_source,
    process_webhook_event,
    receive_webhook,
)

__all__ = [
    "PROVIDER_ACTOR",
    "AmountMismatch",
    "PaymentConflict",
    "apply_provider_payment",
    "build_receipt",
    "cancel_intent",
    "cancel_session_intents",
    "capture_intent",
    "confirm_dev_intent",
    "confirm_intent",
    "create_intent",
    "expire_intents",
    "is_trusted_webhook_source",
    "paid_intent",
    "poll_intents",
    "price_for",
    "process_webhook_event",
    "receive_webhook",
    "refund_late_success",
    "register_at_provider",
    "release_intent",
    "release_session_payment",
    "release_undelivered",
    "request_capture",
    "status_document",
    "sweep_due_dev_intents",
]
