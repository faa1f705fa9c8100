"""What the bot's menus do, as plain synchronous functions (the handlers call them)."""
