"""What every notification channel shares: the message, the result and the error contract.

A channel sends one message over one transport and says how it went: a `SendResult` with the
provider's id, or a `DeliveryError` that is either permanent (blocked bot, unknown chat, invalid
number or address: record it, disable the endpoint, never retry) or transient (429, 5xx,
timeouts: retry with backoff, honouring `retry_after` when the provider gives one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class DeliveryError(Exception):
    """A provider refused or failed a message."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to one recipient (chat id, e-mail address or phone number)."""

    recipient: str
    text: str
    subject: str = ""
    html: bool = False
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    # The same on every attempt of one delivery (`delivery-<id>`): where a transport has a
    # message identity (an e-mail's Message-ID), a repeat after a crash carries the same one.
    key: str = ""
    # Telegram only: an inline keyboard (buttons, web-app buttons) sent with the text.
    reply_markup: dict[str, Any] | None = None


@dataclass(frozen=True)
class SendResult:
    provider_id: str = ""


class Channel(Protocol):
    """One transport. `kind` is one of "telegram", "email", "sms"."""

    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...

    def send(self, message: OutgoingMessage) -> SendResult: ...
