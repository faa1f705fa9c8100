"""Who writes to the bot: their linked chat, person and membership, and what their role allows,
checked against the same view roles the API uses."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.conf import settings

from notifications.models import TelegramChat
from phone.models import ChatOwnerChoice
from tenancy.models import Membership
from tenancy.permissions import roles_allowed


@dataclass(frozen=True)
class Person:
    chat_id: int
    user_id: int
    membership: Membership

    @property
    def owner_id(self) -> int:
        return self.membership.owner_id

    @property
    def role(self) -> str:
        return self.membership.role


def person_for_chat(chat_id: int) -> Person | None:
    """The linked person writing from this private chat and the owner the bot acts for: the one
    they chose in the bot (if they are still its member), else their first membership. None for
    strangers and people without any membership."""
    chat = TelegramChat.objects.filter(chat_id=chat_id, enabled=True, is_group=False).first()
    if chat is None:
        return None
    memberships = Membership.objects.select_related("owner").filter(user_id=chat.user_id)
    chosen = ChatOwnerChoice.objects.filter(chat_id=chat_id).values_list("owner_id", flat=True)
    membership = (
        memberships.filter(owner_id__in=chosen).first() or memberships.order_by("id").first()
    )
    if membership is None:
        return None
    return Person(chat_id=chat_id, user_id=chat.user_id, membership=membership)


def owners_of(person: Person) -> list[Membership]:
    """Every membership of the person, for choosing which owner the bot acts for."""
    return list(
        Membership.objects.select_related("owner").filter(user_id=person.user_id).order_by("id")
    )


def choose_owner(person: Person, owner_id: int) -> bool:
    """Act for `owner_id` from now on in this chat; False unless the person is its member."""
    if not Membership.objects.filter(user_id=person.user_id, owner_id=owner_id).exists():
        return False
    ChatOwnerChoice.objects.update_or_create(
        chat_id=person.chat_id, defaults={"owner_id": owner_id}
    )
    return True


def may(person: Person, view: Any, method: str = "GET", action: str | None = None) -> bool:
    """Whether the person's role may call the API view `view` (its class) with `method` (and
    viewset `action`): `tenancy.permissions.roles_allowed`, the API's own rule."""
    names = ("action_roles", "allowed_roles", "write_roles")
    attrs = {name: getattr(view, name) for name in names if hasattr(view, name)}
    return person.role in roles_allowed(SimpleNamespace(action=action, **attrs), method)


def web_app_url() -> str:
    return str(settings.TELEGRAM_WEB_APP_URL)
