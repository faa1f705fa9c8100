"""Telegram's webhook: updates arrive here when the bot runs in webhook mode (no `run_bot`).

Telegram proves the call is its own with the secret given to `setWebhook`, sent back in the
`X-Telegram-Bot-Api-Secret-Token` header; anything else is refused.
"""

from __future__ import annotations

import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from notifications.bot import handle_update

logger = logging.getLogger("notifications.bot")


@csrf_exempt
@require_POST
def telegram_webhook(request: HttpRequest) -> HttpResponse:
    secret = settings.TELEGRAM_WEBHOOK_SECRET
    if not secret:
        return HttpResponse(status=404)
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return HttpResponse(status=403)
    try:
        update = json.loads(request.body)
    except ValueError:
        return HttpResponse(status=400)
    if isinstance(update, dict):
        try:
            handle_update(update)
        except Exception:
            # Answer 200 anyway: Telegram would otherwise re-send the same update forever.
            logger.exception("telegram webhook update failed")
    return JsonResponse({"ok": True})
