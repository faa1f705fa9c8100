"""The bot's inline keyboards (Russian labels through gettext)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from phone.services.people import web_app_url


def open_app_button(label: str | None = None) -> InlineKeyboardButton | None:
    url = web_app_url()
    if not url:
        return None
    return InlineKeyboardButton(label or _("📱 Open the app"), web_app=WebAppInfo(url=url))


def web_app_markup(label: str | None = None) -> dict[str, object] | None:
    """The one web-app button of task notices, as Bot API JSON (None without a Mini App URL)."""
    button = open_app_button(label)
    return InlineKeyboardMarkup([[button]]).to_dict() if button else None


def owner_switch() -> InlineKeyboardButton:
    return InlineKeyboardButton(_("🔁 Another owner"), callback_data="own:list")


def owner_choices(owners: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(name, callback_data=f"own:{pk}")] for pk, name in owners]
    )


def staff_menu(*, may_invite: bool) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(_("Today"), callback_data="fin:today"),
            InlineKeyboardButton(_("Yesterday"), callback_data="fin:yesterday"),
        ],
        [
            InlineKeyboardButton(_("This week"), callback_data="fin:week"),
            InlineKeyboardButton(_("This month"), callback_data="fin:month"),
        ],
        [
            InlineKeyboardButton(_("7 days"), callback_data="fin:7d"),
            InlineKeyboardButton(_("30 days"), callback_data="fin:30d"),
            InlineKeyboardButton(_("Year"), callback_data="fin:year"),
        ],
        [
            InlineKeyboardButton(_("⚠️ Low stock"), callback_data="menu:stock"),
            InlineKeyboardButton(_("📋 Open tasks"), callback_data="menu:tasks"),
        ],
        [
            InlineKeyboardButton(_("🧺 Pick list"), callback_data="menu:picklist"),
            InlineKeyboardButton(_("🆔 My id"), callback_data="menu:myid"),
        ],
    ]
    if may_invite:
        rows[-1].append(InlineKeyboardButton(_("➕ Invite"), callback_data="menu:invite"))
    if button := open_app_button():
        rows.append([button])
    return InlineKeyboardMarkup(rows)


def service_menu() -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(_("📋 My tasks"), callback_data="menu:mytasks"),
            InlineKeyboardButton(_("🆔 My id"), callback_data="menu:myid"),
        ],
        [InlineKeyboardButton(_("🧺 Pick list"), callback_data="menu:picklist")],
    ]
    if button := open_app_button():
        rows.append([button])
    return InlineKeyboardMarkup(rows)


def invite_roles(roles: tuple[str, ...]) -> InlineKeyboardMarkup:
    labels = {"admin": _("Administrator"), "service": _("Service staff")}
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(labels[role], callback_data=f"inv:role:{role}")] for role in roles]
    )


def invite_decision(invite_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("✅ Confirm"), callback_data=f"inv:ok:{invite_id}"),
                InlineKeyboardButton(_("❌ Decline"), callback_data=f"inv:no:{invite_id}"),
            ]
        ]
    )


def expense_undo(expense_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("↩️ Undo"), callback_data=f"exp:undo:{expense_id}")]]
    )


def expense_duplicate(draft_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("Record again"), callback_data=f"exp:again:{draft_id}"),
                InlineKeyboardButton(_("Don't record"), callback_data=f"exp:drop:{draft_id}"),
            ]
        ]
    )
