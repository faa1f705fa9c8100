"""vendkiosk settings: one module, every value from the environment (see .env.example).

Development defaults are local and safe; `AGENT_ENV=PROD` refuses to start without its secrets.
"""

from __future__ import annotations

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
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "django_celery_beat",
    "tenancy",
    "vendista",
    "inventory",
    "tasks_app",
    "kiosk",
    "payments",
    "reports",
    "notifications",
    "audit",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

SESSION_COOKIE_SECURE = IS_PROD
CSRF_COOKIE_SECURE = IS_PROD
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

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
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
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
}

# /metrics answers only requests carrying this bearer token when it is set (required in PROD).
METRICS_TOKEN = env_str("METRICS_TOKEN", None)
if IS_PROD and not METRICS_TOKEN:
    raise EnvError("METRICS_TOKEN", "is required when AGENT_ENV=PROD")

HEALTHZ_CELERY_TIMEOUT = env_float("HEALTHZ_CELERY_TIMEOUT", 1.0, minimum=0.1)

# --- Celery ------------------------------------------------------------------------------------

CELERY_BROKER_URL = REDIS_URL
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
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message not acknowledged within this window is delivered again; keep every countdown,
# ETA and retry delay well below it (STYLE.md, reliability notes).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [
    Queue(name, routing_key=name) for name in ("imports", "notifications", "reports", "default")
]
CELERY_TASK_ROUTES = {
    "vendista.tasks.*": {"queue": "imports"},
    "notifications.tasks.*": {"queue": "notifications"},
    "reports.tasks.*": {"queue": "reports"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = beat.SCHEDULE
DJANGO_CELERY_BEAT_TZ_AWARE = True

# --- Coffee points (Vendista) -------------------------------------------------------------------
# (issue 3 adds its settings here)

# --- Notifications -----------------------------------------------------------------------------

# Which transport each channel uses; "dev" writes to the outbox table instead of sending.
TELEGRAM_PROVIDER = env_choice("TELEGRAM_PROVIDER", ("telegram", "dev"), "dev")
EMAIL_PROVIDER = env_choice("EMAIL_PROVIDER", ("smtp", "sendgrid", "dev"), "dev")
SMS_PROVIDER = env_choice("SMS_PROVIDER", ("smsc", "twilio", "dev"), "dev")

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
TELEGRAM_REQUEUE_AFTER_SECONDS = env_float("TELEGRAM_REQUEUE_AFTER_SECONDS", 900.0, minimum=1)
# Admin alerts: duplicates dropped within the window, grouped per flush, capped per hour.
ADMIN_ALERT_DEDUP_SECONDS = env_int("ADMIN_ALERT_DEDUP_SECONDS", 300, minimum=1)
ADMIN_ALERT_FLUSH_SECONDS = env_int("ADMIN_ALERT_FLUSH_SECONDS", 60, minimum=1)
ADMIN_ALERTS_PER_HOUR = env_int("ADMIN_ALERTS_PER_HOUR", 20, minimum=1)
# Retention (days): final delivery rows, DEV outbox messages, finished import runs.
DELIVERY_RETENTION_DAYS = env_int("DELIVERY_RETENTION_DAYS", 90, minimum=1)
OUTBOX_RETENTION_DAYS = env_int("OUTBOX_RETENTION_DAYS", 30, minimum=1)
IMPORT_RUN_RETENTION_DAYS = env_int("IMPORT_RUN_RETENTION_DAYS", 90, minimum=1)

# --- Kiosks, payments and reports --------------------------------------------------------------
# (issue 5 adds its settings here)

# --- Logging -----------------------------------------------------------------------------------

LOG_LEVEL = env_choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
