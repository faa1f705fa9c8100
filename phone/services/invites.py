"""Inviting a person through the bot: a one-time link for a role; the new person opens it, the
inviter confirms, and only then are their account, membership and chat link created."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from notifications.models import TelegramChat
from phone.models import BotInvite, InviteStatus
from tenancy.models import Membership, Role

INVITE_PREFIX = "inv-"
# Who an inviter of each role may invite.
INVITABLE: dict[str, tuple[str, ...]] = {
    Role.OWNER: (Role.ADMIN, Role.SERVICE),
    Role.ADMIN: (Role.SERVICE,),
}


def create_invite(owner_id: int, created_by_id: int, role: str, inviter_role: str) -> BotInvite:
    """A fresh one-time invite; raises ValueError for a role the inviter may not hand out."""
    if role not in INVITABLE.get(inviter_role, ()):
        raise ValueError(role)
    return BotInvite.objects.create(
        owner_id=owner_id,
        role=role,
        created_by_id=created_by_id,
        token=secrets.token_urlsafe(16),
        expires_at=timezone.now() + timedelta(hours=settings.TELEGRAM_INVITE_TTL_HOURS),
    )


def invite_link(invite: BotInvite) -> str:
    """The t.me deep link (or, without a bot name, the command to send)."""
    start = f"{INVITE_PREFIX}{invite.token}"
    username = settings.TELEGRAM_BOT_USERNAME
    return f"https://t.me/{username}?start={start}" if username else f"/start {start}"


def claim_invite(token: str, *, chat_id: int, name: str, username: str) -> BotInvite | None:
    """The invited person opened the link: remember who, wait for the inviter. None when the
    link is unknown, used or expired."""
    with transaction.atomic():
        invite = BotInvite.objects.select_for_update().filter(token=token).first()
        if (
            invite is None
            or invite.status != InviteStatus.OPEN
            or invite.expires_at <= timezone.now()
        ):
            return None
        invite.status = InviteStatus.WAITING
        invite.invitee_chat_id = chat_id
        invite.invitee_name = name[:200]
        invite.invitee_username = username[:100]
        invite.save(update_fields=["status", "invitee_chat_id", "invitee_name", "invitee_username"])
    return invite


@dataclass(frozen=True)
class Decision:
    invite: BotInvite
    membership: Membership | None


def decide_invite(invite_id: int, *, decided_by_id: int, accept: bool) -> Decision | None:
    """The inviter confirmed or declined. Accepting creates the person (or reuses the one linked
    to that chat), their membership with the invited role and their chat link, in one
    transaction. None when there is nothing (left) to decide."""
    with transaction.atomic():
        invite = (
            BotInvite.objects.select_for_update()
            .filter(pk=invite_id, created_by_id=decided_by_id, status=InviteStatus.WAITING)
            .first()
        )
        if invite is None or invite.invitee_chat_id is None:
            return None
        invite.decided_at = timezone.now()
        if not accept:
            invite.status = InviteStatus.DECLINED
            invite.save(update_fields=["status", "decided_at"])
            return Decision(invite=invite, membership=None)
        user = _user_for_chat(invite)
        membership, _created = Membership.objects.get_or_create(
            owner_id=invite.owner_id,
            user=user,
            defaults={"role": invite.role, "display_name": invite.invitee_name},
        )
        invite.status = InviteStatus.ACCEPTED
        invite.save(update_fields=["status", "decided_at"])
    return Decision(invite=invite, membership=membership)


def _user_for_chat(invite: BotInvite) -> Any:
    chat_id = invite.invitee_chat_id
    assert chat_id is not None
    chat = TelegramChat.objects.filter(chat_id=chat_id).first()
    if chat is not None:
        if not chat.enabled:
            chat.enabled, chat.disabled_reason, chat.disabled_at = True, "", None
            chat.save(update_fields=["enabled", "disabled_reason", "disabled_at"])
        return chat.user
    model = get_user_model()
    user = model.objects.create_user(username=f"tg{chat_id}")
    user.set_unusable_password()
    user.first_name = invite.invitee_name[:150]
    user.save(update_fields=["password", "first_name"])
    TelegramChat.objects.create(user=user, chat_id=chat_id, username=invite.invitee_username)
    return user
