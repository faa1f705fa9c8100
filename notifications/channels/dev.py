"""DEV channels: nothing leaves the machine; every message lands in the outbox table."""

from __future__ import annotations

import hashlib
from typing import ClassVar

from notifications.channels.base import OutgoingMessage, SendResult


class DevOutboxChannel:
    """Writes the message to `OutboxMessage`, readable in the admin."""

    name: ClassVar[str] = "dev"

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def send(self, message: OutgoingMessage) -> SendResult:
        from notifications.models import OutboxMessage

        row = OutboxMessage.objects.create(
            channel=self.kind,
            recipient=message.recipient,
            subject=message.subject,
            text=message.text,
            attachments=[
                {
                    "filename": item.filename,
                    "mimetype": item.mimetype,
                    "size": len(item.content),
                    "sha256": hashlib.sha256(item.content).hexdigest(),
                }
                for item in message.attachments
            ],
        )
        return SendResult(provider_id=f"outbox-{row.pk}")
