"""Writing audit entries. Call `record(...)` inside the transaction of the operation it audits;
code acting for someone passes an `Actor` (a kiosk, a person, or `SYSTEM`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.db import models
from django.http import HttpRequest

from audit.models import ActorKind, AuditEntry
from core.net import client_ip
from core.pii import mask_data


class _Device(Protocol):
    pk: Any
    name: str


def record(action: str, **fields: Any) -> AuditEntry:
    """Add one audit row (the fields as `entry` takes them); e-mails and phones in `summary`
    are masked before they are stored."""
    row = entry(action, **fields)
    row.save(force_insert=True)
    return row


def entry(
    action: str,
    *,
    actor_kind: str = ActorKind.SYSTEM,
    actor_user: Any = None,
    actor_label: str = "",
    owner_id: int | None = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    summary: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """The audit row `record` adds, unsaved: for a caller that writes it together with the row
    it audits (`core.db.insert.insert_together`)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    if actor_user is not None and getattr(actor_user, "is_authenticated", False):
        actor_label = actor_label or actor_user.get_username()
        actor_kind = ActorKind.USER if actor_kind == ActorKind.SYSTEM else actor_kind
    else:
        actor_user = None
    return AuditEntry(
        action=action,
        actor_kind=actor_kind,
        actor_user=actor_user,
        actor_label=actor_label[:200],
        owner_id=owner_id,
        object_type=object_type,
        object_id=str(object_id),
        summary=mask_data(summary or {}),
        ip_address=client_ip(request),
    )


@dataclass(frozen=True)
class Actor:
    """Who does an operation, for the audit log."""

    kind: str = ActorKind.SYSTEM
    label: str = "system"
    user: Any = None
    request: HttpRequest | None = None

    @classmethod
    def for_kiosk(cls, kiosk: _Device, request: HttpRequest | None = None) -> Actor:
        return cls(kind=ActorKind.KIOSK, label=f"kiosk:{kiosk.pk} {kiosk.name}", request=request)

    def audit(self, action: str, **kwargs: Any) -> None:
        self.entry(action, **kwargs).save(force_insert=True)

    def entry(self, action: str, **kwargs: Any) -> AuditEntry:
        """The row `audit` would add, unsaved (see `entry`)."""
        return entry(
            action,
            actor_kind=self.kind,
            actor_user=self.user,
            actor_label=self.label,
            request=self.request,
            **kwargs,
        )


SYSTEM = Actor()
