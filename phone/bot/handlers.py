"""python-telegram-bot handlers: each reads who wrote (from Telegram's update), runs its
synchronous action (in the calling thread, so the request's database connection is used) and
sends the replies through the bot, whose request layer queues them as durable deliveries."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from asgiref.sync import sync_to_async
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from phone.bot import actions
from phone.bot.actions import Reply, Sender
from phone.bot.request import TEMPLATE_PARAMETER

Context = ContextTypes.DEFAULT_TYPE
logger = logging.getLogger("phone.bot")


def _sender(update: Update) -> Sender:
    chat = update.effective_chat
    user = update.effective_user
    assert chat is not None
    name = user.full_name if user else ""
    return Sender(
        chat_id=chat.id,
        is_private=chat.type == "private",
        name=name,
        username=(user.username if user else None) or chat.username or "",
    )


async def _send(context: Context, replies: list[Reply]) -> None:
    for reply in replies:
        await context.bot.send_message(
            reply.chat_id,
            reply.text,
            reply_markup=reply.markup,
            api_kwargs={TEMPLATE_PARAMETER: reply.template} if reply.template else None,
        )


def _command(
    action: Callable[[Sender], list[Reply]],
) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    async def handler(update: Update, context: Context) -> None:
        await _send(context, await sync_to_async(action)(_sender(update)))

    return handler


async def start(update: Update, context: Context) -> None:
    argument = context.args[0] if context.args else ""
    await _send(context, await sync_to_async(actions.start)(_sender(update), argument))


async def finance(update: Update, context: Context) -> None:
    period = context.args[0] if context.args else "today"
    await _send(context, await sync_to_async(actions.finances)(_sender(update), period))


async def text(update: Update, context: Context) -> None:
    message = update.effective_message
    typed = message.text if message and message.text else ""
    await _send(context, await sync_to_async(actions.typed_text)(_sender(update), typed))


async def button(update: Update, context: Context) -> None:
    """Every inline button: `area:verb[:id]` in the callback data."""
    query = update.callback_query
    assert query is not None
    try:
        await query.answer()  # stops the button's spinner; the action goes ahead regardless
    except TelegramError as exc:
        logger.info("answerCallbackQuery failed: %s", exc)
    sender = _sender(update)
    area, _, rest = (query.data or "").partition(":")
    verb, _, raw_id = rest.partition(":")
    row_id = int(raw_id) if raw_id.isdigit() else 0
    replies: list[Reply]
    if area == "fin":
        replies = await sync_to_async(actions.finances)(sender, verb)
    elif area == "menu":
        simple = {
            "stock": actions.stock,
            "tasks": actions.open_tasks,
            "mytasks": actions.my_tasks,
            "myid": actions.my_id,
            "invite": actions.invite_menu,
            "picklist": actions.pick_list,
        }
        replies = await sync_to_async(simple.get(verb, actions.show_menu))(sender)
    elif area == "own":
        replies = await sync_to_async(actions.owner_button)(sender, rest)
    elif area == "exp" and row_id:
        replies = await sync_to_async(actions.expense_button)(sender, verb, row_id)
    elif area == "inv" and verb == "role":
        replies = await sync_to_async(actions.invite_role_chosen)(sender, raw_id)
    elif area == "inv" and row_id:
        replies = await sync_to_async(actions.invite_decided)(sender, row_id, accept=verb == "ok")
    else:
        replies = await sync_to_async(actions.show_menu)(sender)
    await _send(context, replies)


def add_handlers(application: Application) -> None:
    # New messages only: an edited "500 аренда" must not record the expense again.
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("menu", _command(actions.show_menu), filters=private))
    application.add_handler(CommandHandler("finance", finance, filters=private))
    application.add_handler(CommandHandler("stock", _command(actions.stock), filters=private))
    application.add_handler(CommandHandler("tasks", _command(actions.open_tasks), filters=private))
    application.add_handler(CommandHandler("mytasks", _command(actions.my_tasks), filters=private))
    application.add_handler(CommandHandler("myid", _command(actions.my_id), filters=private))
    application.add_handler(
        CommandHandler("picklist", _command(actions.pick_list), filters=private)
    )
    application.add_handler(
        CommandHandler("invite", _command(actions.invite_menu), filters=private)
    )
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & private, text))
    application.add_handler(CallbackQueryHandler(button))
