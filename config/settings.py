"""vendkiosk settings: one module, every value from the environment (see .env.example).

Development defaults are local and safe; `AGENT_ENV=PROD` refuses to start without its secrets.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

from django.utils.translation import gettext_lazy as _
from kombu import Queue

from config import beat
from config.env import (
    EnvError,
    env_bool,
    env_choice,
    env_database_url,
    env_float,
    env_int,
    env_list,
    env_redis_url,
    env_str,
    redis_url_with_db,
)
from core.logging import install_record_masking

BASE_DIR = Path(__file__).resolve().parent.parent

AGENT_ENV = env_choice("AGENT_ENV", ("DEV", "PROD"), "DEV")
IS_PROD = AGENT_ENV == "PROD"

if IS_PROD:
    SECRET_KEY = env_str("SECRET_KEY")
    if len(SECRET_KEY) < 32:
        raise EnvError("SECRET_KEY", "must be at least 32 characters in PROD")
else:
    SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production-0123456789")

DEBUG = env_bool("DEBUG", not IS_PROD)
if IS_PROD and DEBUG:
    raise EnvError("DEBUG", "must be off when AGENT_ENV=PROD")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if IS_PROD else ["localhost", "127.0.0.1", "[::1]"])
if IS_PROD and not ALLOWED_HOSTS:
    raise EnvError("ALLOWED_HOSTS", "is required when AGENT_ENV=PROD")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # The admin is the cabinet: django-unfold's theme, the site from tenancy.cabinet.
    "unfold.apps.BasicAppConfig",
    "tenancy.apps.CabinetAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "django_celery_beat",
    "axes",
    "tenancy",
    "vendista",
    "inventory",
    "tasks_app",
    "planning",
    "phone",
    "kiosk",
    "payments",
    "reports",
    "notifications",
    "audit",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.QueryTextMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: answers a locked-out login (admin, DRF login, token endpoint) with 429.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------------

DATABASES = {
    "default": {
        **env_database_url("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vendkiosk"),
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60, minimum=0),
        "CONN_HEALTH_CHECKS": True,
    }
}
# Hot reads (core.db.prepared) prepared on the server once per connection. Opt-in: a pooler may
# not keep prepared statements (PgBouncer in transaction mode before 1.21).
if env_bool("DB_PREPARED_STATEMENTS", False):
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
# A connection whose server went silent (a worker host cut off by the network, a server gone
# without closing it) fails after about 2 x DB_KEEPALIVE_S of silence instead of waiting the
# kernel's two hours for an answer that was lost (tests/scaleout: a host partitioned mid-query).
DB_KEEPALIVE_S = env_int("DB_KEEPALIVE_S", 30, minimum=1)
DATABASES["default"]["OPTIONS"].update(
    keepalives=1,
    keepalives_idle=DB_KEEPALIVE_S,
    keepalives_interval=max(1, DB_KEEPALIVE_S // 3),
    keepalives_count=3,
)
# The LISTEN connection of each web process (core.db.changes: the status poll's cache) keeps a
# session: behind a pooler in transaction mode point it at PostgreSQL itself. Unset: DATABASE_URL.
DB_LISTEN = env_database_url("DB_LISTEN_URL") if env_str("DB_LISTEN_URL", "") else None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_redis_url("REDIS_URL", "redis://127.0.0.1:6379/0")
if env_str("REDIS_DB", None) is not None:  # overrides the URL's database index (tests: 15)
    REDIS_URL = redis_url_with_db(REDIS_URL, env_int("REDIS_DB", minimum=0))

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "vk",
        "TIMEOUT": 300,
    }
}

# --- Auth --------------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
AUTHENTICATION_BACKENDS = [
    # First: refuses every login of a locked-out user or address, whatever the endpoint.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed logins: locked per user name and, separately, per source address; rows in PostgreSQL.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# The address a failure counts against; the lead may point it at the trusted-proxy helper.
AXES_CLIENT_IP_CALLABLE = env_str("AXES_CLIENT_IP_CALLABLE", "tenancy.lockout.client_ip")
AXES_LOCKOUT_TEMPLATE = "cabinet/lockout.html"
AXES_ENABLE_ADMIN = False  # tenancy.admin registers the attempts, platform staff only

# The admin's theme (django-unfold): the dashboard first, a sidebar of what the role may open.
UNFOLD = {
    "SITE_TITLE": "vendkiosk",
    "SITE_HEADER": "vendkiosk",
    "SITE_SUBHEADER": _("Owners' cabinet"),
    "SITE_URL": "/admin/",
    "SHOW_VIEW_ON_SITE": False,
    "DASHBOARD_CALLBACK": "vendista.admin.dashboard.dashboard_callback",
    "STYLES": ["/static/cabinet/cabinet.css"],
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": "tenancy.cabinet.site.sidebar_navigation",
    },
}

SESSION_COOKIE_SECURE = IS_PROD
CSRF_COOKIE_SECURE = IS_PROD
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# HTTPS in PROD (each can be turned off where TLS ends elsewhere): redirect plain HTTP, HSTS,
# and believe the proxy's X-Forwarded-Proto (only the trusted proxy may set it: nginx
# overwrites it). Probes and the scraper reach /healthz and /metrics over plain HTTP inside.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", IS_PROD)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^metrics/?$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if IS_PROD else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", IS_PROD)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", IS_PROD)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SECURE_PROXY_SSL_HEADER", IS_PROD) else None
)

# --- Language and time -------------------------------------------------------------------------

LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env_str("TIME_ZONE", "Europe/Moscow")
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve app static files straight from their folders in development (no collectstatic needed).
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

# --- API ---------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["core.throttles.StaffRateThrottle"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + ([] if IS_PROD else ["rest_framework.renderers.BrowsableAPIRenderer"]),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "vendkiosk API",
    "DESCRIPTION": "Back office for Vendista coffee points and car-service kiosks. "
    "Requests act for one owner: send `X-Owner-Id` when your user belongs to several.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from the installed sidecar package: the docs page needs no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status" or "location": name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "LocationEnum": "inventory.models.Location",
        "ContainerLocationEnum": "inventory.models.CONTAINER_LOCATIONS",
        "TaskStatusEnum": "tasks_app.models.TaskStatus",
        "SessionStatusEnum": "kiosk.models.SessionStatus",
        "PaymentStatusEnum": "payments.models.PaymentStatus",
        "RefundStatusEnum": "payments.models.RefundStatus",
        "ReportStatusEnum": "reports.models.ReportStatus",
        "VendistaPaymentStatusEnum": "vendista.models.PaymentStatus",
        "TokenStatusEnum": "vendista.models.TokenStatus",
        "RunStatusEnum": "vendista.models.RunStatus",
    },
}

# /metrics answers only requests carrying this bearer token when it is set (required in PROD).
METRICS_TOKEN = env_str("METRICS_TOKEN", None)
if IS_PROD and not METRICS_TOKEN:
    raise EnvError("METRICS_TOKEN", "is required when AGENT_ENV=PROD")

# A worker host's own /metrics: the Celery worker serves its host's multiprocess directory on
# this port on every interface, behind METRICS_TOKEN (0: off, when a web process on the same
# host and directory serves it).
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 0, minimum=0)
# Per-owner import lag series only while the fleet has at most this many importable owners.
METRICS_PER_OWNER_MAX = env_int("METRICS_PER_OWNER_MAX", 50, minimum=0)

HEALTHZ_CELERY_TIMEOUT = env_float("HEALTHZ_CELERY_TIMEOUT", 1.0, minimum=0.1)

# --- Celery ------------------------------------------------------------------------------------

CELERY_BROKER_URL = REDIS_URL
# kombu's Redis transport, fixed so a worker outlives a Redis restart mid-task (see core/broker.py).
CELERY_BROKER_TRANSPORT = "core.broker:Transport"
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise EnvError("CELERY_TASK_TIME_LIMIT", "must be greater than CELERY_TASK_SOFT_TIME_LIMIT")
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_SEND_TASK_EVENTS = True
# A pool process is replaced once it holds more than this many KiB (WeasyPrint's memory grows
# with long documents); 0 turns recycling off.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = (
    env_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 400_000, minimum=0) or None
)
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message not acknowledged within this window is delivered again; keep every countdown,
# ETA, retry delay and task run time well below it (STYLE.md, reliability notes). A killed
# worker's messages come back this late, as no-ops: the sweep has done their work already.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=30)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # Workers look for such messages every interval x throttle seconds: about every 100 s with
    # the default timeout, every 5 s with a short one.
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": max(1, min(20, CELERY_VISIBILITY_TIMEOUT // 50)),
}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [
    Queue(name, routing_key=name) for name in ("imports", "notifications", "reports", "default")
]
CELERY_TASK_ROUTES = {
    "vendista.tasks.*": {"queue": "imports"},
    "notifications.tasks.*": {"queue": "notifications"},
    "inventory.tasks.send_inventory_digest": {"queue": "notifications"},
    "reports.tasks.*": {"queue": "reports"},
}
# django-celery-beat's database scheduler behind a Redis leader lock: a second beat waits as a
# standby and takes over within ~1.3 x BEAT_LEADER_TTL seconds of the leader's death.
CELERY_BEAT_SCHEDULER = "core.scheduler:LeaderScheduler"
BEAT_LEADER_TTL = env_int("BEAT_LEADER_TTL", 30, minimum=2)
CELERY_BEAT_SCHEDULE = beat.SCHEDULE
DJANGO_CELERY_BEAT_TZ_AWARE = True

# --- Coffee points (Vendista) -------------------------------------------------------------------

VENDISTA_API_URL = env_str("VENDISTA_API_URL", "https://api.vendista.ru:99").rstrip("/")
# Fernet keys (comma-separated, newest first) encrypting owners' Vendista login, password and
# token; older keys still decrypt, so a key can be rotated. DEV derives one from SECRET_KEY.
VENDISTA_ENCRYPTION_KEYS = env_list("VENDISTA_ENCRYPTION_KEYS", [])
if IS_PROD and not VENDISTA_ENCRYPTION_KEYS:
    raise EnvError("VENDISTA_ENCRYPTION_KEYS", "is required when AGENT_ENV=PROD")
# Requests per second to Vendista, shared by every worker: per owner token and in total.
VENDISTA_RATE_PER_TOKEN = env_float("VENDISTA_RATE_PER_TOKEN", 1.0, minimum=0.01)
VENDISTA_RATE_GLOBAL = env_float("VENDISTA_RATE_GLOBAL", 5.0, minimum=0.01)
VENDISTA_PAGE_SIZE = env_int("VENDISTA_PAGE_SIZE", 1000, minimum=1)
VENDISTA_TIMEOUT = env_float("VENDISTA_TIMEOUT", 30.0, minimum=1)
# Attempts per request on 5xx, timeouts and 429 before the run fails.
VENDISTA_MAX_ATTEMPTS = env_int("VENDISTA_MAX_ATTEMPTS", 5, minimum=1)
VENDISTA_BACKOFF_BASE = env_float("VENDISTA_BACKOFF_BASE", 2.0, minimum=0)
# Seconds an owner's import lock lives without a heartbeat (a killed or frozen worker frees it
# this late); the running import extends it every quarter of this from a heartbeat thread.
VENDISTA_LOCK_TTL = env_int("VENDISTA_LOCK_TTL", 120, minimum=5)
# The longest single wait inside one Vendista call (Retry-After, our shared rate limit): longer
# asks fail the request as transient (the task retries later) instead of sleeping. Capped at
# half the lock TTL whatever is set here.
VENDISTA_MAX_WAIT = env_float("VENDISTA_MAX_WAIT", 60.0, minimum=0.1)
# Seconds a run waits before trying again while another run of the same owner holds the lock.
VENDISTA_BUSY_RETRY_SECONDS = env_float("VENDISTA_BUSY_RETRY_SECONDS", 15.0, minimum=0.1)
# A queued/running run with no heartbeat for this long (at least the lock TTL) was interrupted:
# the next tick or the minute sweep queues it again, resuming after its last committed page.
VENDISTA_RUN_STALE_AFTER = env_int("VENDISTA_RUN_STALE_AFTER", 180, minimum=5)
# Interruptions of one run before an admin alert, and before the run is given up (failed).
VENDISTA_RUN_ALERT_ATTEMPTS = env_int("VENDISTA_RUN_ALERT_ATTEMPTS", 3, minimum=1)
VENDISTA_RUN_MAX_ATTEMPTS = env_int("VENDISTA_RUN_MAX_ATTEMPTS", 8, minimum=1)

# --- Notifications -----------------------------------------------------------------------------

# Which transport each channel uses; "dev" writes to the outbox table instead of sending.
TELEGRAM_PROVIDER = env_choice("TELEGRAM_PROVIDER", ("telegram", "dev"), "dev")
EMAIL_PROVIDER = env_choice("EMAIL_PROVIDER", ("smtp", "sendgrid", "dev"), "dev")
SMS_PROVIDER = env_choice("SMS_PROVIDER", ("smsc", "twilio", "dev"), "dev")

# E-mail and SMS
# Sender of every e-mail ("Name <address>" or an address); seconds before a provider call gives up.
EMAIL_FROM = env_str("EMAIL_FROM", "vendkiosk <noreply@localhost>")
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 10.0, minimum=0.1)
SMTP_HOST = env_str("SMTP_HOST", "")
SMTP_PORT = env_int("SMTP_PORT", 587, minimum=1)
SMTP_USER = env_str("SMTP_USER", "")
SMTP_PASS = env_str("SMTP_PASS", "")
SMTP_USE_TLS = env_bool("SMTP_USE_TLS", True)  # STARTTLS (port 587)
SMTP_USE_SSL = env_bool("SMTP_USE_SSL", False)  # implicit TLS (port 465)
if SMTP_USE_TLS and SMTP_USE_SSL:
    raise EnvError("SMTP_USE_SSL", "cannot be on together with SMTP_USE_TLS")
SENDGRID_API_KEY = env_str("SENDGRID_API_KEY", "")
SENDGRID_API_URL = env_str("SENDGRID_API_URL", "https://api.sendgrid.com")
# SMS sender: an alphanumeric name registered with the provider, or a Twilio number (E.164).
SMS_FROM = env_str("SMS_FROM", "")
SMS_TIMEOUT = env_float("SMS_TIMEOUT", 10.0, minimum=0.1)
SMSC_LOGIN = env_str("SMSC_LOGIN", "")
SMSC_PASSWORD = env_str("SMSC_PASSWORD", "")
SMSC_API_URL = env_str("SMSC_API_URL", "https://smsc.ru")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN", "")
TWILIO_API_URL = env_str("TWILIO_API_URL", "https://api.twilio.com")
# PROD refuses to start without what the chosen providers need (the variable is named).
_PROD_REQUIRED = {
    "smtp": ("EMAIL_FROM", "SMTP_HOST"),
    "sendgrid": ("EMAIL_FROM", "SENDGRID_API_KEY"),
    "smsc": ("SMSC_LOGIN", "SMSC_PASSWORD"),
    "twilio": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SMS_FROM"),
}
if IS_PROD:
    for _provider in (EMAIL_PROVIDER, SMS_PROVIDER):
        for _name in _PROD_REQUIRED.get(_provider, ()):
            if env_str(_name, None) is None:
                raise EnvError(_name, f"is required when AGENT_ENV=PROD with provider {_provider}")
# Telegram
# The main bot's token; required in PROD when TELEGRAM_PROVIDER=telegram.
TELEGRAM_BOT_TOKEN = env_str("TELEGRAM_BOT_TOKEN", "")
if IS_PROD and TELEGRAM_PROVIDER == "telegram" and not TELEGRAM_BOT_TOKEN:
    raise EnvError("TELEGRAM_BOT_TOKEN", "is required when TELEGRAM_PROVIDER=telegram in PROD")
TELEGRAM_API_URL = env_str("TELEGRAM_API_URL", "https://api.telegram.org")
TELEGRAM_BOT_USERNAME = env_str("TELEGRAM_BOT_USERNAME", "")  # for t.me/<bot>?start=<code> links
TELEGRAM_TIMEOUT = env_float("TELEGRAM_TIMEOUT", 10.0, minimum=0.5)
# Operators' chat for payment (402), reactivation and import-failure alerts.
ADMIN_TELEGRAM_CHAT_ID = env_str("ADMIN_TELEGRAM_CHAT_ID", "")
# Secret Telegram echoes in X-Telegram-Bot-Api-Secret-Token; the webhook answers 404 without it.
TELEGRAM_WEBHOOK_SECRET = env_str("TELEGRAM_WEBHOOK_SECRET", "")
TELEGRAM_LINK_CODE_TTL_MINUTES = env_int("TELEGRAM_LINK_CODE_TTL_MINUTES", 60, minimum=1)
# The Mini App (service staff's phone page) as Telegram opens it: an https URL ending in /app/.
TELEGRAM_WEB_APP_URL = env_str("TELEGRAM_WEB_APP_URL", "")
# How old a Mini App's signed initData may be when it is exchanged for a session.
TELEGRAM_INIT_DATA_MAX_AGE_SECONDS = env_int("TELEGRAM_INIT_DATA_MAX_AGE_SECONDS", 3600, minimum=30)
TELEGRAM_INVITE_TTL_HOURS = env_int("TELEGRAM_INVITE_TTL_HOURS", 48, minimum=1)
# Limits shared by every worker through Redis, a little under Telegram's 30/s, 1/s, 20/min.
TELEGRAM_BOT_RATE = env_float("TELEGRAM_BOT_RATE", 28.0, minimum=0.1)
TELEGRAM_CHAT_RATE = env_float("TELEGRAM_CHAT_RATE", 0.95, minimum=0.01)
TELEGRAM_GROUP_RATE_PER_MINUTE = env_float("TELEGRAM_GROUP_RATE_PER_MINUTE", 19.0, minimum=0.1)
# A worker waits this long for a rate-limit token before handing the message back to the queue.
TELEGRAM_MAX_INLINE_WAIT_SECONDS = env_float("TELEGRAM_MAX_INLINE_WAIT_SECONDS", 3.0, minimum=0)
# Retries: exponential backoff from the base up to the max (or Telegram's retry_after); delays
# up to TELEGRAM_MAX_COUNTDOWN_SECONDS are Celery countdowns, longer ones wait for the sweep.
TELEGRAM_RETRY_BASE_SECONDS = env_float("TELEGRAM_RETRY_BASE_SECONDS", 5.0, minimum=0.1)
TELEGRAM_RETRY_MAX_SECONDS = env_float("TELEGRAM_RETRY_MAX_SECONDS", 900.0, minimum=1)
TELEGRAM_MAX_COUNTDOWN_SECONDS = env_float("TELEGRAM_MAX_COUNTDOWN_SECONDS", 120.0, minimum=0)
TELEGRAM_MAX_ATTEMPTS = env_int("TELEGRAM_MAX_ATTEMPTS", 8, minimum=1)
# A message claimed longer ago than this by a worker that never finished is sent again.
TELEGRAM_SENDING_LEASE_SECONDS = env_float("TELEGRAM_SENDING_LEASE_SECONDS", 120.0, minimum=1)
TELEGRAM_REQUEUE_AFTER_SECONDS = env_float("TELEGRAM_REQUEUE_AFTER_SECONDS", 180.0, minimum=1)
# Admin alerts: duplicates dropped within the window, grouped per flush, capped per hour.
ADMIN_ALERT_DEDUP_SECONDS = env_int("ADMIN_ALERT_DEDUP_SECONDS", 300, minimum=1)
ADMIN_ALERT_FLUSH_SECONDS = env_int("ADMIN_ALERT_FLUSH_SECONDS", 60, minimum=1)
ADMIN_ALERTS_PER_HOUR = env_int("ADMIN_ALERTS_PER_HOUR", 20, minimum=1)
# Retention (days): final delivery rows, DEV outbox messages, finished import runs.
DELIVERY_RETENTION_DAYS = env_int("DELIVERY_RETENTION_DAYS", 90, minimum=1)
OUTBOX_RETENTION_DAYS = env_int("OUTBOX_RETENTION_DAYS", 30, minimum=1)
IMPORT_RUN_RETENTION_DAYS = env_int("IMPORT_RUN_RETENTION_DAYS", 90, minimum=1)
# Restock forecasts: the days of sales history each container's forecast is built from.
FORECAST_HISTORY_DAYS = env_int("FORECAST_HISTORY_DAYS", 84, minimum=7)

# --- Kiosks, payments and reports --------------------------------------------------------------

# Sessions: default lifetime; every PATCH pushes expiry by the session's TTL again.
KIOSK_SESSION_TTL_MS = env_int("KIOSK_SESSION_TTL_MS", 3_600_000, minimum=1000)
# Told to the kiosk UI: return to the start screen when the session expires.
KIOSK_AUTO_RESET_ON_TIMEOUT = env_bool("KIOSK_AUTO_RESET_ON_TIMEOUT", True)
# Kiosk screen: seconds without a touch before it returns to the start screen (not while a
# payment or the service is in progress).
KIOSK_UI_IDLE_SECONDS = env_int("KIOSK_UI_IDLE_SECONDS", 90, minimum=3)
# Largest accepted session metadata, bytes of JSON.
KIOSK_SESSION_METADATA_MAX_BYTES = env_int("KIOSK_SESSION_METADATA_MAX_BYTES", 8192, minimum=256)
# DRF throttling (Redis cache): per kiosk token and per client IP ("N/sec|min|hour|day").
# The reverse proxies in front of the app (addresses or networks): only their
# X-Forwarded-For is believed (core.net.client_ip). Empty: the header is ignored.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise EnvError("TRUSTED_PROXIES", f"{_proxy!r} is not an address or network") from None
# Request bodies nested deeper than this are refused (400), long before Python's recursion limit.
API_JSON_MAX_DEPTH = env_int("API_JSON_MAX_DEPTH", 32, minimum=4)
# The staff API: requests per token (or signed-in user) and per client address.
STAFF_THROTTLE_RATE = env_str("STAFF_THROTTLE_RATE", "3000/min")
STAFF_IP_THROTTLE_RATE = env_str("STAFF_IP_THROTTLE_RATE", "6000/min")
# A kiosk lists only its own sessions of the last hours (contacts masked).
KIOSK_SESSION_LIST_HOURS = env_int("KIOSK_SESSION_LIST_HOURS", 12, minimum=1)
# Kiosk authentication caches a token's kiosk in Redis this long (a save drops it at once).
KIOSK_AUTH_CACHE_S = env_int("KIOSK_AUTH_CACHE_S", 30, minimum=0)
# ... and each web process in memory this long (other processes see a deactivation this late).
KIOSK_AUTH_LOCAL_CACHE_S = env_int("KIOSK_AUTH_LOCAL_CACHE_S", 5, minimum=0)
KIOSK_THROTTLE_RATE = env_str("KIOSK_THROTTLE_RATE", "600/min")
KIOSK_IP_THROTTLE_RATE = env_str("KIOSK_IP_THROTTLE_RATE", "1200/min")
# Absolute base of links sent to clients (report download link in SMS and in the PDF's QR).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# Payments: "dev" (the emulator, DEV only) or "yookassa" (PROD's default). Emulator knobs below.
PAYMENTS_PROVIDER = env_choice(
    "PAYMENTS_PROVIDER", ("dev", "yookassa"), "yookassa" if IS_PROD else "dev"
)
if IS_PROD and PAYMENTS_PROVIDER == "dev":
    raise EnvError("PAYMENTS_PROVIDER", "the dev emulator cannot take payments with AGENT_ENV=PROD")
# Payment metadata is capped like session metadata (bytes of JSON).
PAYMENTS_METADATA_MAX_BYTES = env_int("PAYMENTS_METADATA_MAX_BYTES", 2048, minimum=64)
PAYMENTS_CURRENCY = env_str("PAYMENTS_CURRENCY", "RUB")
PAYMENTS_INTENT_TTL_S = env_int("PAYMENTS_INTENT_TTL_S", 900, minimum=30)
# Each web process keeps the status documents kiosks poll, dropped when PostgreSQL announces a
# change (payments/status_cache.py); an entry lives at most this long. 0: always read the row.
PAYMENTS_STATUS_CACHE_S = env_int("PAYMENTS_STATUS_CACHE_S", 30, minimum=0)
PAYMENTS_DEV_AUTO_CONFIRM_DELAY_MS = env_int("PAYMENTS_DEV_AUTO_CONFIRM_DELAY_MS", 2000, minimum=0)
PAYMENTS_DEV_MANUAL_MODE = env_bool("PAYMENTS_DEV_MANUAL_MODE", False)
# Pending intents older than this are re-read at the PSP by the poller (webhook fallback).
PAYMENTS_POLL_AFTER_S = env_int("PAYMENTS_POLL_AFTER_S", 60, minimum=0)
# A notification stored but not processed this long after it arrived (its queue message was lost,
# its worker died) is queued again by the minute sweep.
PAYMENTS_WEBHOOK_REQUEUE_AFTER_S = env_int("PAYMENTS_WEBHOOK_REQUEUE_AFTER_S", 120, minimum=1)
# How long after our cancel/expiry the poller still watches for a late success to refund.
PAYMENTS_LATE_SUCCESS_WINDOW_S = env_int("PAYMENTS_LATE_SUCCESS_WINDOW_S", 3 * 3600, minimum=60)
# A paid service must be delivered (its report generated) within this time of the payment;
# otherwise the held money is released (hold cancelled or refunded) and audited.
PAYMENTS_SERVICE_DEADLINE_S = env_int("PAYMENTS_SERVICE_DEADLINE_S", 1800, minimum=60)
YOOKASSA_SHOP_ID = env_str("YOOKASSA_SHOP_ID", None)
YOOKASSA_SECRET_KEY = env_str("YOOKASSA_SECRET_KEY", None)
YOOKASSA_WEBHOOK_URL = env_str("YOOKASSA_WEBHOOK_URL", None)
YOOKASSA_API_URL = env_str("YOOKASSA_API_URL", "https://api.yookassa.ru/v3")
# HTTP timeout of every YooKassa call, seconds (the SDK sets none of its own).
YOOKASSA_HTTP_TIMEOUT_S = env_float("YOOKASSA_HTTP_TIMEOUT_S", 10.0, minimum=0.1)
# Notifications are unsigned: only these sources are trusted (YooKassa's published ranges).
YOOKASSA_WEBHOOK_IPS = env_list(
    "YOOKASSA_WEBHOOK_IPS",
    [
        "185.71.76.0/27",
        "185.71.77.0/27",
        "77.75.153.0/25",
        "77.75.156.11",
        "77.75.156.35",
        "77.75.154.128/25",
        "2a02:5180::/32",
    ],
)
if IS_PROD and PAYMENTS_PROVIDER == "yookassa":
    for _name in ("YOOKASSA_SHOP_ID", "YOOKASSA_SECRET_KEY", "YOOKASSA_WEBHOOK_URL"):
        if not globals()[_name]:
            raise EnvError(_name, "is required when AGENT_ENV=PROD and PAYMENTS_PROVIDER=yookassa")

# Reports: signed download links expire; thickness verdicts by thresholds in micrometres.
REPORTS_LINK_TTL_S = env_int("REPORTS_LINK_TTL_S", 7 * 24 * 3600, minimum=60)
REPORTS_MAX_DELIVERY_ATTEMPTS = env_int("REPORTS_MAX_DELIVERY_ATTEMPTS", 5, minimum=1)
# Renderings per report (the first and three retries, 10 s, 20 s, 40 s apart) before it fails.
REPORTS_MAX_GENERATION_ATTEMPTS = env_int("REPORTS_MAX_GENERATION_ATTEMPTS", 4, minimum=1)
# First retry delay of a transient delivery failure, seconds (doubles per attempt, at most 600).
REPORTS_RETRY_BASE_SECONDS = env_float("REPORTS_RETRY_BASE_SECONDS", 15.0, minimum=0.1)
# A worker renders one PDF under this lease (its hard time limit is below it): a killed worker's
# report is rendered again by the sweep once the lease lapses.
REPORTS_GENERATION_LEASE_SECONDS = env_int("REPORTS_GENERATION_LEASE_SECONDS", 120, minimum=5)
REPORTS_THICKNESS_REPAINTED_UM = env_int("REPORTS_THICKNESS_REPAINTED_UM", 180, minimum=1)
REPORTS_THICKNESS_PUTTY_UM = env_int("REPORTS_THICKNESS_PUTTY_UM", 300, minimum=1)
if REPORTS_THICKNESS_PUTTY_UM <= REPORTS_THICKNESS_REPAINTED_UM:
    raise EnvError("REPORTS_THICKNESS_PUTTY_UM", "must be above REPORTS_THICKNESS_REPAINTED_UM")

# --- Logging -----------------------------------------------------------------------------------

LOG_LEVEL = env_choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # E-mail addresses and phone numbers are masked in every line (core/logging.py).
    "filters": {"pii": {"()": "core.logging.PiiMaskingFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["pii"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The SendGrid and Twilio SDKs log request headers, payloads (addresses, phones) and
        # the API key at DEBUG/INFO: keep them to warnings.
        "python_http_client": {"level": "WARNING"},
        "twilio": {"level": "WARNING"},
        # urllib3 logs request lines (with query strings: Vendista's token) at DEBUG.
        "urllib3": {"level": "INFO"},
        # WeasyPrint narrates every rendering step at INFO.
        "weasyprint.progress": {"level": "WARNING"},
    },
}

# Masks PII in every log record as it is made, whatever handler (pytest, Celery, gunicorn) gets it.
install_record_masking()
