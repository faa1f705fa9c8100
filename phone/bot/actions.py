"""What each command, button and typed text does: synchronous functions that check the role
the way the API does, call the services and return the replies to send."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardMarkup

from inventory.api import InventoryViewSet
from notifications.bot import link_chat
from notifications.models import TelegramChat
from notifications.services import render
from phone.bot import keyboards
from phone.services import expenses, invites, menu, people
from phone.services.people import Person, may, person_for_chat
from planning.api import PickListViewSet
from tasks_app.api import TaskViewSet
from tenancy.api import MembershipViewSet
from tenancy.models import Role
from vendista.api.expenses import ExpenseViewSet
from vendista.api.finance import FinanceSummaryView


@dataclass
class Reply:
    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None = None
    template: str = ""


def _say(
    chat_id: int,
    template: str,
    context: dict[str, Any],
    markup: InlineKeyboardMarkup | None = None,
) -> Reply:
    """A reply rendered from `telegram/<template>.html` (the template names its delivery)."""
    return Reply(chat_id, render(template, context), markup, template)


@dataclass
class Sender:
    """Who sent the update, as Telegram says (never from a body of ours)."""

    chat_id: int
    is_private: bool = True
    name: str = ""
    username: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _denied(chat_id: int) -> list[Reply]:
    return [_say(chat_id, "bot_denied", {})]


def _welcome(chat_id: int) -> list[Reply]:
    return [_say(chat_id, "bot_welcome", {})]


def main_menu(person: Person) -> Reply:
    staff = may(person, FinanceSummaryView)
    if staff:
        markup = keyboards.staff_menu(
            may_invite=bool(invites.INVITABLE.get(person.role)) and may(person, MembershipViewSet)
        )
    else:
        markup = keyboards.service_menu()
    if len(people.owners_of(person)) > 1:
        markup = InlineKeyboardMarkup([*markup.inline_keyboard, [keyboards.owner_switch()]])
    context = {"owner": str(person.membership.owner), "staff": staff}
    return _say(person.chat_id, "bot_menu", context, markup)


def owner_button(sender: Sender, choice: str) -> list[Reply]:
    """ "Another owner": list the person's owners, or act for the one they picked."""
    person = person_for_chat(sender.chat_id)
    if person is None:
        return _welcome(sender.chat_id)
    if choice == "list":
        owners = [(m.owner_id, str(m.owner)) for m in people.owners_of(person)]
        return [_say(sender.chat_id, "bot_owner_choose", {}, keyboards.owner_choices(owners))]
    if not choice.isdigit() or not people.choose_owner(person, int(choice)):
        return _denied(sender.chat_id)
    chosen = person_for_chat(sender.chat_id)
    assert chosen is not None
    return [main_menu(chosen)]


def start(sender: Sender, argument: str) -> list[Reply]:
    """`/start`, `/start <link code>` or `/start inv-<invite>`."""
    if argument.startswith(invites.INVITE_PREFIX):
        return invite_opened(sender, argument.removeprefix(invites.INVITE_PREFIX))
    if argument:
        linked = link_chat(
            code=argument,
            chat_id=sender.chat_id,
            is_group=not sender.is_private,
            username=sender.username,
        )
        if linked is None:
            return [_say(sender.chat_id, "bot_link_failed", {})]
        replies = [
            _say(sender.chat_id, "bot_linked", {"username": linked.user.get_username()}),
        ]
        person = person_for_chat(sender.chat_id)
        return replies + ([main_menu(person)] if person else [])
    return show_menu(sender)


def show_menu(sender: Sender) -> list[Reply]:
    person = person_for_chat(sender.chat_id)
    if person is None:
        return _welcome(sender.chat_id)
    return [main_menu(person)]


def finances(sender: Sender, period: str) -> list[Reply]:
    person = person_for_chat(sender.chat_id)
    if person is None:
        return _welcome(sender.chat_id)
    if not may(person, FinanceSummaryView):
        return _denied(sender.chat_id)
    if period not in menu.PERIODS:
        period = "today"
    return [Reply(sender.chat_id, menu.finance_text(person.owner_id, period), None, "bot_finance")]


def stock(sender: Sender) -> list[Reply]:
    person = person_for_chat(sender.chat_id)
    if person is None:
        return _welcome(sender.chat_id)
    if not may(person, InventoryViewSet, action="list"):
        return _denied(sender.chat_id)
    return [Reply(sender.chat_id, menu.stock_text(person.owner_id), None, "bot_stock")]


def open_tasks(sender: Sender) -> list[Reply]:
    person = person_for_chat(sender.chat_id)
    if person is None:
        return _welcome(sender.chat_id)
    # The menu offers the whole list to owners and admins; service staff see their own.
    if not may(person, FinanceSummaryView) or not may(person, TaskViewSet, action="list"):
        return my_tasks(sender)
    return [Reply(sender.chat_id, menu.open_tasks_text(person.owner_id), None, "bot_tasks")]


def my_tasks(sender: Sender) -> list[Reply]:
    person = person_for_chat(sender.chat_id)
    if person is None:
        return _welcome(sender.chat_id)
    if not may(person, TaskViewSet, action="my"):
        return _denied(sender.chat_id)
    markup = None
    if button := keyboards.open_app_button():
        markup = InlineKeyboardMarkup([[button]])
    text = menu.my_tasks_text(person.owner_id, person.user_id)
    return [Reply(sender.chat_id, text, markup, "bot_tasks")]


def pick_list(sender: Sender) -> list[Reply]:
    """The next visit's pick list: the newest one for today or later, else one planned now for
    today (every active terminal, in route order)."""
    person = person_for_chat(sender.chat_id)
    if person is None:
        return _welcome(sender.chat_id)
    if not may(person, PickListViewSet, action="create"):
        return _denied(sender.chat_id)
    text = menu.pick_list_text(person.owner_id, user_id=person.user_id)
    return [Reply(sender.chat_id, text, None, "bot_picklist")]


def my_id(sender: Sender) -> list[Reply]:
    person = person_for_chat(sender.chat_id)
    if person is None:
        return _welcome(sender.chat_id)
    return [
        _say(
            sender.chat_id,
            "bot_myid",
            {
                "chat_id": sender.chat_id,
                "role": person.membership.get_role_display(),
                "owner": str(person.membership.owner),
            },
        )
    ]


# --- expenses ----------------------------------------------------------------------------------


def typed_text(sender: Sender, text: str) -> list[Reply]:
    """Any other text: a quick expense when it reads like one, else the menu."""
    person = person_for_chat(sender.chat_id)
    if person is None:
        return _welcome(sender.chat_id)
    typed = expenses.parse_expense(text)
    if typed is None:
        return [main_menu(person)]
    if not may(person, ExpenseViewSet, "POST", action="create"):
        return _denied(sender.chat_id)
    outcome = expenses.record_expense(person.owner_id, person.user_id, typed)
    context = {"amount": menu.money(typed.amount), "comment": typed.comment}
    if outcome.draft is not None:
        return [
            _say(
                sender.chat_id,
                "bot_expense_duplicate",
                context,
                keyboards.expense_duplicate(outcome.draft.pk),
            )
        ]
    assert outcome.expense is not None
    return [
        _say(
            sender.chat_id,
            "bot_expense_recorded",
            context,
            keyboards.expense_undo(outcome.expense.pk),
        )
    ]


def expense_button(sender: Sender, verb: str, row_id: int) -> list[Reply]:
    person = person_for_chat(sender.chat_id)
    if person is None:
        return _welcome(sender.chat_id)
    if verb == "undo":
        if not may(person, ExpenseViewSet, "DELETE", action="destroy"):
            return _denied(sender.chat_id)
        gone = expenses.undo_expense(row_id, owner_id=person.owner_id)
        template = "bot_expense_undone" if gone else "bot_expense_missing"
        context = {"amount": menu.money(gone.amount), "comment": gone.comment} if gone else {}
        return [_say(sender.chat_id, template, context)]
    if not may(person, ExpenseViewSet, "POST", action="create"):
        return _denied(sender.chat_id)
    expense = expenses.decide_draft(
        row_id, owner_id=person.owner_id, user_id=person.user_id, record=verb == "again"
    )
    if expense is None:
        return [_say(sender.chat_id, "bot_expense_not_recorded", {})]
    context = {"amount": menu.money(expense.amount), "comment": expense.comment}
    return [
        _say(sender.chat_id, "bot_expense_recorded", context, keyboards.expense_undo(expense.pk))
    ]


# --- invitations -------------------------------------------------------------------------------


def _inviter(sender: Sender) -> Person | None:
    person = person_for_chat(sender.chat_id)
    if person is None or not invites.INVITABLE.get(person.role):
        return None
    return person if may(person, MembershipViewSet) else None


def invite_menu(sender: Sender) -> list[Reply]:
    if person_for_chat(sender.chat_id) is None:
        return _welcome(sender.chat_id)
    person = _inviter(sender)
    if person is None:
        return _denied(sender.chat_id)
    roles = invites.INVITABLE[person.role]
    return [_say(sender.chat_id, "bot_invite_choose", {}, keyboards.invite_roles(roles))]


def invite_role_chosen(sender: Sender, role: str) -> list[Reply]:
    person = _inviter(sender)
    if person is None:
        return _denied(sender.chat_id)
    try:
        invite = invites.create_invite(person.owner_id, person.user_id, role, person.role)
    except ValueError:
        return _denied(sender.chat_id)
    context = {"link": invites.invite_link(invite), "role": _role_label(role)}
    return [_say(sender.chat_id, "bot_invite_link", context)]


def invite_opened(sender: Sender, token: str) -> list[Reply]:
    if not sender.is_private:
        return []
    invite = invites.claim_invite(
        token, chat_id=sender.chat_id, name=sender.name, username=sender.username
    )
    if invite is None:
        return [_say(sender.chat_id, "bot_invite_invalid", {})]
    inviter_chat = _chat_of(invite.created_by_id)
    replies = [_say(sender.chat_id, "bot_invite_waiting", {})]
    if inviter_chat is not None:
        context = {
            "name": sender.name or "—",
            "username": sender.username,
            "role": _role_label(invite.role),
        }
        replies.append(
            _say(inviter_chat, "bot_invite_request", context, keyboards.invite_decision(invite.pk))
        )
    return replies


def invite_decided(sender: Sender, invite_id: int, *, accept: bool) -> list[Reply]:
    person = _inviter(sender)
    if person is None:
        return _denied(sender.chat_id)
    decision = invites.decide_invite(invite_id, decided_by_id=person.user_id, accept=accept)
    if decision is None:
        return [_say(sender.chat_id, "bot_invite_gone", {})]
    invite = decision.invite
    context = {"name": invite.invitee_name or "—", "role": _role_label(invite.role)}
    assert invite.invitee_chat_id is not None
    if not accept:
        return [
            _say(sender.chat_id, "bot_invite_declined_owner", context),
            _say(invite.invitee_chat_id, "bot_invite_declined", {}),
        ]
    replies = [
        _say(sender.chat_id, "bot_invite_accepted_owner", context),
        _say(invite.invitee_chat_id, "bot_invite_accepted", context),
    ]
    newcomer = person_for_chat(invite.invitee_chat_id)
    if newcomer is not None:
        replies.append(main_menu(newcomer))
    return replies


def _role_label(role: str) -> str:
    return str(Role(role).label)


def _chat_of(user_id: int) -> int | None:
    return (
        TelegramChat.objects.filter(user_id=user_id, enabled=True, is_group=False)
        .values_list("chat_id", flat=True)
        .first()
    )
