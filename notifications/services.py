"""Deliveries: who hears about what, the one delivery log (Telegram, e-mail, SMS), sending.

This is the interface the apps compose their notices with (`notify_users`, `notify_admin_chat`,
`queue_digest`, `person_name`, `never_raises`); notifications itself imports no domain app.

Every message is a `Delivery` row written in the transaction that causes it (an outbox; the
queue message follows after commit and may be lost). `deliver()` claims one row with a
conditional UPDATE (a lease), waits for a token from the Redis buckets shared by every worker
(Telegram), sends, and records the outcome; a crash between sending and recording re-sends only
that row, once its claim expires after `TELEGRAM_SENDING_LEASE_SECONDS` and the sweep picks it up
again. No provider we use takes an idempotency key for a message, so that is the one duplicate a
crash can cost (docs/operations.md, "Outbox and deliveries").

An app whose work a delivery belongs to (`source="report:<id>"`) hears each final outcome through
the handler it registers for the source's prefix (`on_finished`), in the transaction that
records it.
"""

from __future__ import annotations

import functools
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from core.jobs import enqueue
from core.ratelimit import Bucket, RateLimiter, RateLimitTimeout
from notifications import digests, metrics
from notifications.channels import Attachment, DeliveryError, OutgoingMessage, get_channel
from notifications.channels.telegram import chat_disabling
from notifications.formatting import split_text
from notifications.models import (
    FINAL_STATUSES,
    Delivery,
    DeliveryStatus,
    Digest,
    TelegramChat,
)
from tenancy.models import Membership, Role

logger = logging.getLogger("notifications.delivery")

_limiter = RateLimiter()

NoticeFunc = TypeVar("NoticeFunc", bound=Callable[..., None])

FinishHandler = Callable[[Delivery], None]

_finish_handlers: dict[str, FinishHandler] = {}


def on_finished(prefix: str, handler: FinishHandler) -> None:
    """Have `handler(delivery)` called, in the recording transaction, whenever a delivery whose
    `source` starts with `prefix:` reaches a final state (sent or permanently failed)."""
    _finish_handlers[prefix] = handler


def never_raises(func: NoticeFunc) -> NoticeFunc:
    """For notice functions, called inside the transaction of the change they tell about (so
    their delivery rows commit with it): a failure to notify is logged, never raised into the
    business flow that triggered it. The notice runs in a savepoint, so its failure rolls back
    only its own rows."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            with transaction.atomic():
                func(*args, **kwargs)
        except Exception:
            logger.exception("notice %s failed (kwargs=%s)", func.__name__, kwargs)

    return wrapper  # type: ignore[return-value]


# --- Recipients --------------------------------------------------------------------------------


def owner_and_admin_user_ids(owner_id: int, *, exclude: Iterable[int | None] = ()) -> list[int]:
    """The people who get summaries and digests: the owner's memberships with role owner/admin."""
    skip = {user_id for user_id in exclude if user_id is not None}
    ids = (
        Membership.objects.filter(owner_id=owner_id, role__in=[Role.OWNER, Role.ADMIN])
        .order_by("id")
        .values_list("user_id", flat=True)
    )
    return [user_id for user_id in dict.fromkeys(ids) if user_id not in skip]


def person_name(user_id: int | None, owner_id: int) -> str:
    """How a person is called in messages: their display name at the owner, else full name,
    else login."""
    if user_id is None:
        return "—"
    display = (
        Membership.objects.filter(owner_id=owner_id, user_id=user_id)
        .values_list("display_name", flat=True)
        .first()
    )
    if display:
        return display
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return "—"
    full_name = getattr(user, "get_full_name", lambda: "")()
    return str(full_name or user.get_username())


def chats_of(user_ids: Iterable[int]) -> list[TelegramChat]:
    """Enabled Telegram chats of these people, in a stable order, each chat once."""
    ids = list(user_ids)
    if not ids:
        return []
    return list(TelegramChat.objects.filter(user_id__in=ids, enabled=True).order_by("id"))


def render(template: str, context: dict[str, Any]) -> str:
    """A Telegram message from `telegram/<template>.html` (HTML, autoescaped): each app keeps
    the templates of the notices it composes in its own `templates/telegram/`. Always in the
    product's language, whatever language the request that caused the notice asked for."""
    with translation.override(settings.LANGUAGE_CODE):
        text = render_to_string(f"telegram/{template}.html", context)
    return "\n".join(line.rstrip() for line in text.strip().split("\n"))


# --- Queueing ----------------------------------------------------------------------------------


def queue_message(
    *,
    recipient: str,
    template: str,
    text: str | None = None,
    chunks: list[str] | None = None,
    chat: TelegramChat | None = None,
    user_id: int | None = None,
    owner_id: int | None = None,
    dedup_key: str | None = None,
    digest: Digest | None = None,
    enqueue: bool = True,
    channel: str = "telegram",
    subject: str = "",
    attachments: list[dict[str, str]] | None = None,
    source: str = "",
    reply_markup: dict[str, Any] | None = None,
) -> list[Delivery]:
    """Record one message (a Telegram text is split into parts when long) and queue its first
    part after commit. Call it inside the transaction of the change it tells about.

    With `dedup_key`, a second call with the same key records nothing and returns [].
    `reply_markup` (Telegram's inline keyboard) goes with the last part.
    """
    if chunks is not None:
        parts = chunks
    else:
        parts = split_text(text or "") if channel == "telegram" else [text or ""]
    group_key = uuid.uuid4().hex
    is_group = channel == "telegram" and (
        chat.is_group if chat is not None else recipient.startswith("-")
    )
    try:
        with transaction.atomic():
            rows = [
                Delivery.objects.create(
                    owner_id=owner_id,
                    user_id=user_id if user_id is not None else (chat.user_id if chat else None),
                    chat=chat,
                    channel=channel,
                    recipient=recipient,
                    is_group=is_group,
                    template=template,
                    subject=subject,
                    text=part,
                    attachments=attachments or [],
                    source=source,
                    group_key=group_key,
                    chunk_index=index,
                    chunk_count=len(parts),
                    digest=digest,
                    dedup_key=dedup_key if index == 0 else None,
                    reply_markup=reply_markup if index == len(parts) - 1 else None,
                )
                for index, part in enumerate(parts)
            ]
    except IntegrityError:
        if dedup_key is None:
            raise
        logger.info("delivery %s already recorded; not sending again", dedup_key)
        return []
    if enqueue and rows:
        first = rows[0].pk
        transaction.on_commit(lambda: enqueue_delivery(first))
    return rows


def notify_users(
    user_ids: Iterable[int],
    *,
    template: str,
    context: dict[str, Any],
    owner_id: int | None = None,
    reply_markup: dict[str, Any] | None = None,
) -> list[Delivery]:
    """Render `template` once and queue it to every enabled chat of these people (with
    `reply_markup`, Telegram's inline keyboard, when given)."""
    chats = chats_of(user_ids)
    if not chats:
        return []
    text = render(template, context)
    rows: list[Delivery] = []
    for chat in chats:
        rows += queue_message(
            recipient=str(chat.chat_id),
            template=template,
            text=text,
            chat=chat,
            owner_id=owner_id,
            reply_markup=reply_markup,
        )
    return rows


def notify_admin_chat(
    *, template: str, context: dict[str, Any], dedup_key: str | None = None
) -> list[Delivery]:
    """Queue a message to the operators' chat (`ADMIN_TELEGRAM_CHAT_ID`), if one is configured."""
    chat_id = settings.ADMIN_TELEGRAM_CHAT_ID
    if not chat_id:
        logger.warning("ADMIN_TELEGRAM_CHAT_ID is not set; admin message %s not sent", template)
        return []
    text = render(template, context)
    return queue_message(recipient=str(chat_id), template=template, text=text, dedup_key=dedup_key)


def queue_digest(
    *,
    kind: str,
    template: str,
    owner_id: int,
    item_ids: list[int],
    chunks: list[str],
    user_ids: Iterable[int],
) -> Digest:
    """Record a digest covering the composer's rows `item_ids` and queue its parts to every
    enabled chat of these people. With nothing to say, or nobody to say it to, it completes at
    once (the composer's completion handler runs). Call inside the composer's transaction."""
    chats = chats_of(user_ids) if chunks else []
    digest = Digest.objects.create(owner_id=owner_id, kind=kind, item_ids=item_ids, chunks=chunks)
    if not chats:
        digests.mark_completed(digest)
        return digest
    for chat in chats:
        queue_message(
            recipient=str(chat.chat_id),
            template=template,
            chunks=chunks,
            chat=chat,
            owner_id=owner_id,
            digest=digest,
        )
    return digest


def enqueue_delivery(delivery_id: int, countdown: float | None = None) -> None:
    """Hand one delivery to the `notifications` queue (safe to repeat: sending claims the row)."""
    Delivery.objects.filter(pk=delivery_id).update(enqueued_at=timezone.now())
    enqueue("notifications.tasks.deliver_message", delivery_id=delivery_id, countdown=countdown)


# --- Sending -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one `deliver()` call did; `retry_in` asks the caller to try again that much later."""

    status: str
    retry_in: float | None = None


def rate_buckets(recipient: str, *, is_group: bool) -> list[Bucket]:
    """Telegram's limits: overall per bot, and per chat (slower for groups)."""
    if is_group:
        chat = Bucket(f"tg:chat:{recipient}", rate=settings.TELEGRAM_GROUP_RATE_PER_MINUTE / 60)
    else:
        chat = Bucket(f"tg:chat:{recipient}", rate=settings.TELEGRAM_CHAT_RATE)
    return [Bucket("tg:bot", rate=settings.TELEGRAM_BOT_RATE), chat]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    max_seconds: float


def retry_policy(channel: str) -> RetryPolicy:
    """Telegram's retry settings, or the e-mail/SMS ones (`REPORTS_*`, the reports' channels)."""
    if channel == "telegram":
        return RetryPolicy(
            settings.TELEGRAM_MAX_ATTEMPTS,
            settings.TELEGRAM_RETRY_BASE_SECONDS,
            settings.TELEGRAM_RETRY_MAX_SECONDS,
        )
    return RetryPolicy(
        settings.REPORTS_MAX_DELIVERY_ATTEMPTS, settings.REPORTS_RETRY_BASE_SECONDS, 600.0
    )


def retry_delay(attempts: int, retry_after: float | None, channel: str = "telegram") -> float:
    """Exponential backoff with jitter, or the provider's `retry_after` when it gave one."""
    if retry_after:
        return float(retry_after)
    policy = retry_policy(channel)
    delay = min(policy.base_seconds * 2 ** max(attempts - 1, 0), policy.max_seconds)
    return delay * random.uniform(1.0, 1.2)  # noqa: S311 - jitter, not security


def _claim(delivery_id: int) -> bool:
    now = timezone.now()
    lease_expired = now - timedelta(seconds=settings.TELEGRAM_SENDING_LEASE_SECONDS)
    due = Q(status__in=[DeliveryStatus.QUEUED, DeliveryStatus.FAILED]) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    stale = Q(status=DeliveryStatus.SENDING, claimed_at__lt=lease_expired)
    return bool(
        Delivery.objects.filter(due | stale, pk=delivery_id).update(
            status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    )


def _unclaim(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.QUEUED, claimed_at=None, attempts=F("attempts") - 1
    )


def deliver(delivery_id: int, *, max_wait: float | None = None) -> Outcome:
    """Send one queued delivery and record the outcome. Safe to call twice: the row is claimed.

    Waits up to `max_wait` seconds for the rate limits; beyond that the row is released and the
    caller asked to try again later.
    """
    if not _claim(delivery_id):
        return Outcome("skipped")
    delivery = Delivery.objects.select_related("chat").get(pk=delivery_id)
    if (
        delivery.chunk_index > 0
        and Delivery.objects.filter(
            group_key=delivery.group_key, chunk_index__lt=delivery.chunk_index
        )
        .exclude(status__in=FINAL_STATUSES)
        .exists()
    ):
        # Parts go out in order: the earlier part enqueues this one once it is done.
        _unclaim(delivery)
        return Outcome("waiting")
    if delivery.chat is not None and not delivery.chat.enabled:
        _finish(delivery, DeliveryStatus.PERMANENTLY_FAILED, error="chat disabled")
        metrics.DELIVERIES.labels(channel=delivery.channel, outcome="permanently_failed").inc()
        return Outcome("permanently_failed")

    try:
        channel = get_channel(delivery.channel)
    except ImproperlyConfigured as exc:
        # A provider without its credentials: retrying will not help, and the failure must show
        # in the admin rather than leave the delivery pending.
        _failed(delivery, DeliveryError(f"configuration: {exc}", permanent=True))
        return Outcome("permanently_failed")
    if channel.name == "telegram":
        wait = max_wait if max_wait is not None else settings.TELEGRAM_MAX_INLINE_WAIT_SECONDS
        try:
            _limiter.acquire(
                rate_buckets(delivery.recipient, is_group=delivery.is_group), timeout=wait
            )
        except RateLimitTimeout as exc:
            _unclaim(delivery)
            return Outcome("rate_limited", retry_in=exc.wait)
    try:
        result = channel.send(_outgoing(delivery))
    except DeliveryError as exc:
        return _failed(delivery, exc)
    except Exception as exc:  # an unexpected bug must not lose the message: retry it
        logger.exception("delivery %s: unexpected error", delivery.pk)
        return _failed(delivery, DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False))
    _record_sent(delivery, result.provider_id)
    metrics.DELIVERIES.labels(channel=delivery.channel, outcome="sent").inc()
    return Outcome("sent")


def _record_sent(delivery: Delivery, provider_id: str) -> None:
    """Record a message the provider took. PostgreSQL may be restarting just then: keep trying
    while the claim lasts, since a claim that lapses unrecorded sends the message again."""
    deadline = time.monotonic() + settings.TELEGRAM_SENDING_LEASE_SECONDS * 0.8
    while True:
        try:
            _finish(delivery, DeliveryStatus.SENT, provider_id=provider_id)
            return
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() >= deadline:
                raise
            logger.warning("delivery %s sent, not yet recorded (%s); retrying", delivery.pk, exc)
            connection.close()
            time.sleep(1.0)


def _outgoing(delivery: Delivery) -> OutgoingMessage:
    files = []
    for item in delivery.attachments:
        with default_storage.open(item["storage_name"], "rb") as handle:
            files.append(Attachment(item["filename"], handle.read(), item["mimetype"]))
    return OutgoingMessage(
        recipient=delivery.recipient,
        text=delivery.text,
        subject=delivery.subject,
        html=delivery.channel == "telegram",
        attachments=tuple(files),
        key=f"delivery-{delivery.pk}",
        reply_markup=delivery.reply_markup,
    )


def _failed(delivery: Delivery, error: DeliveryError) -> Outcome:
    outcome = _record_failure(delivery, error)
    metrics.DELIVERIES.labels(channel=delivery.channel, outcome=outcome.status).inc()
    return outcome


def _record_failure(delivery: Delivery, error: DeliveryError) -> Outcome:
    now = timezone.now()
    if error.permanent:
        logger.warning(
            "delivery %s to %s failed permanently: %s", delivery.pk, delivery.recipient, error
        )
        _finish(delivery, DeliveryStatus.PERMANENTLY_FAILED, error=str(error))
        if chat_disabling(error):
            disable_chat(delivery.recipient, reason=str(error))
        return Outcome("permanently_failed")
    capped = delivery.digest_id is None  # a digest is retried until Telegram takes it
    if capped and delivery.attempts >= retry_policy(delivery.channel).max_attempts:
        logger.error(
            "delivery %s gave up after %s attempts: %s", delivery.pk, delivery.attempts, error
        )
        _finish(
            delivery,
            DeliveryStatus.PERMANENTLY_FAILED,
            error=f"gave up after {delivery.attempts} attempts: {error}",
        )
        return Outcome("permanently_failed")
    delay = retry_delay(delivery.attempts, error.retry_after, delivery.channel)
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.FAILED,
        last_error=str(error)[:2000],
        next_attempt_at=now + timedelta(seconds=delay),
        claimed_at=None,
    )
    logger.info("delivery %s: transient failure, retry in %.1f s: %s", delivery.pk, delay, error)
    return Outcome("failed", retry_in=delay)


def _finish(delivery: Delivery, status: str, *, provider_id: str = "", error: str = "") -> None:
    """Record a final outcome and tell the source's handler (one transaction), then queue the
    message's next part and close its digest."""
    fields: dict[str, Any] = {"status": status, "claimed_at": None, "next_attempt_at": None}
    if status == DeliveryStatus.SENT:
        fields.update(sent_at=timezone.now(), provider_id=provider_id[:100], last_error="")
    else:
        fields["last_error"] = error[:2000]
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(**fields)
        _tell_source(delivery.pk)
    if delivery.chunk_index + 1 < delivery.chunk_count:
        following = (
            Delivery.objects.filter(
                group_key=delivery.group_key, chunk_index=delivery.chunk_index + 1
            )
            .values_list("pk", flat=True)
            .first()
        )
        if following is not None:
            transaction.on_commit(lambda: enqueue_delivery(following))
    if delivery.digest_id is not None:
        digests.complete_digest(delivery.digest_id)


def _tell_source(delivery_id: int) -> None:
    delivery = Delivery.objects.get(pk=delivery_id)
    handler = _finish_handlers.get(delivery.source.partition(":")[0]) if delivery.source else None
    if handler is not None:
        handler(delivery)


def disable_chat(recipient: str, *, reason: str) -> None:
    """The chat blocked or removed the bot: stop sending to it and drop what is queued for it."""
    now = timezone.now()
    try:
        chat_id = int(recipient)
    except ValueError:
        return
    TelegramChat.objects.filter(chat_id=chat_id, enabled=True).update(
        enabled=False, disabled_reason=reason[:255], disabled_at=now
    )
    pending = Delivery.objects.filter(recipient=recipient).exclude(
        status__in=[*FINAL_STATUSES, DeliveryStatus.SENDING]
    )
    open_digests = set(pending.exclude(digest=None).values_list("digest_id", flat=True))
    pending.update(
        status=DeliveryStatus.PERMANENTLY_FAILED,
        last_error=f"chat disabled: {reason}"[:2000],
        next_attempt_at=None,
    )
    for digest_id in open_digests:
        digests.complete_digest(digest_id)


def resendable() -> Q:
    """Deliveries staff may send again: failed ones, ones still waiting (queued, or a retry not
    yet due) and stuck ones (a claim whose worker died) — not a claim that is being sent now."""
    lease_expired = timezone.now() - timedelta(seconds=settings.TELEGRAM_SENDING_LEASE_SECONDS)
    return Q(
        status__in=[DeliveryStatus.QUEUED, DeliveryStatus.FAILED, DeliveryStatus.PERMANENTLY_FAILED]
    ) | Q(status=DeliveryStatus.SENDING, claimed_at__lt=lease_expired)


def resend(delivery_ids: Iterable[int]) -> int:
    """Staff asked to send deliveries again now (re-enabling nothing): failed, pending and stuck
    ones go back to the queue; sent ones and live claims are left alone. Safe to repeat."""
    ids = list(
        Delivery.objects.filter(resendable(), pk__in=list(delivery_ids)).values_list(
            "pk", flat=True
        )
    )
    Delivery.objects.filter(pk__in=ids).update(
        status=DeliveryStatus.QUEUED, next_attempt_at=None, claimed_at=None
    )
    for pk in ids:
        transaction.on_commit(lambda pk=pk: enqueue_delivery(pk))  # type: ignore[misc]
    return len(ids)


# --- Sweeping ----------------------------------------------------------------------------------


def sweep_pending(limit: int = 2000) -> int:
    """Queue every delivery that is due again: retries whose time came, claims of crashed workers,
    rows whose queue message was lost. Returns how many were queued. Safe to re-run."""
    now = timezone.now()
    lease_expired = now - timedelta(seconds=settings.TELEGRAM_SENDING_LEASE_SECONDS)
    lost = now - timedelta(seconds=settings.TELEGRAM_REQUEUE_AFTER_SECONDS)
    due = (
        Q(status=DeliveryStatus.FAILED, next_attempt_at__lte=now)
        | Q(status=DeliveryStatus.SENDING, claimed_at__lt=lease_expired)
        | Q(status=DeliveryStatus.QUEUED, enqueued_at__lt=lost)
        | Q(status=DeliveryStatus.QUEUED, enqueued_at__isnull=True, created_at__lt=lost)
    )
    rows = list(
        Delivery.objects.filter(due)
        .order_by("group_key", "chunk_index")
        .values_list("pk", "group_key")[:limit]
    )
    # Only the earliest due part of each message: the later ones follow it.
    first_per_group: dict[str, int] = {}
    for pk, group_key in rows:
        first_per_group.setdefault(group_key, pk)
    for pk in first_per_group.values():
        enqueue_delivery(pk)
    digests.complete_open_digests()
    return len(first_per_group)
