"""The status documents kiosks poll, cached in each web process (`core.db.changes`).

Migration 0003 makes PostgreSQL announce every change of the columns the document holds (and
every delete or TRUNCATE of intents) on `CHANNEL`; each process drops the entry when the notice
arrives, and at once for its own writes (on commit). An entry lives at most
`PAYMENTS_STATUS_CACHE_S` seconds (0 turns the cache off).
"""

from __future__ import annotations

from django.conf import settings

from core.db.changes import NotifiedCache

CHANNEL = "vk_payment_intent"

STATUS_CACHE = NotifiedCache(CHANNEL, ttl_s=lambda: float(settings.PAYMENTS_STATUS_CACHE_S))
