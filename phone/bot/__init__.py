"""The Telegram bot on python-telegram-bot: handlers in `handlers`, the application in `app`,
and `request`, which routes what the handlers send into the durable delivery queue."""
