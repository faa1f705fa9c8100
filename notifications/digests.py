"""Digests: one message, in parts, to several chats, covering rows that belong to the app that
composed it (`item_ids`, of a `kind` the composer names).

The composer learns that its rows were told about through the handler it registers for its
kind (`on_complete`, from its AppConfig.ready): the handler runs in the same transaction that
sets `completed_at`, which happens once every delivery of the digest reached a final state — a
crash before that sends the digest again, never loses it.

    digests.on_complete("stock_changes", mark_changes_notified)
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from notifications.models import FINAL_STATUSES, Digest

CompletionHandler = Callable[[Digest], None]

_handlers: dict[str, CompletionHandler] = {}


def on_complete(kind: str, handler: CompletionHandler) -> None:
    """Have `handler(digest)` called when a digest of `kind` completes (one handler per kind)."""
    _handlers[kind] = handler


def open_item_ids(kind: str) -> set[int]:
    """The rows that digests of `kind` still being sent cover (not to be taken again)."""
    taken: set[int] = set()
    for ids in Digest.objects.filter(kind=kind, completed_at__isnull=True).values_list(
        "item_ids", flat=True
    ):
        taken.update(ids)
    return taken


def mark_completed(digest: Digest) -> None:
    """Close `digest` and tell its composer. Call inside a transaction, the row locked."""
    handler = _handlers.get(digest.kind)
    if handler is None:
        raise LookupError(f"no completion handler registered for digests of kind {digest.kind!r}")
    handler(digest)
    digest.completed_at = timezone.now()
    digest.save(update_fields=["completed_at"])


def complete_digest(digest_id: int) -> bool:
    """Close the digest if every part reached a final state; returns whether it closed now."""
    with transaction.atomic():
        digest = Digest.objects.select_for_update().filter(pk=digest_id).first()
        if digest is None or digest.completed_at is not None:
            return False
        if digest.deliveries.exclude(status__in=FINAL_STATUSES).exists():
            return False
        mark_completed(digest)
    return True


def complete_open_digests() -> int:
    """Close every open digest whose deliveries are all final (the sweep calls this)."""
    done = 0
    for digest_id in Digest.objects.filter(completed_at__isnull=True).values_list("pk", flat=True):
        done += complete_digest(digest_id)
    return done
