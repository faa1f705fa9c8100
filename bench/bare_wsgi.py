"""The app as `config.wsgi` serves it, plus `GET /bench/bare`: a Django view that does nothing,
behind the same middleware on the same gunicorn — the ceiling the kiosk API is measured against
(bench/kiosk_api_bench.py). Never deployed."""

from __future__ import annotations

import os

import django
from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
settings.ROOT_URLCONF = "bench.bare_urls"
application = get_wsgi_application()
