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
# Seconds an owner's import lock lives without progress (a killed worker frees it this late).
VENDISTA_LOCK_TTL = env_int("VENDISTA_LOCK_TTL", 120, minimum=5)
# A queued/running run with no progress for this long is abandoned and may be queued again.
VENDISTA_RUN_STALE_AFTER = env_int("VENDISTA_RUN_STALE_AFTER", 1800, minimum=30)

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
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The SendGrid and Twilio SDKs log request headers, payloads (addresses, phones) and
        # the API key at DEBUG/INFO: keep them to warnings.
        "python_http_client": {"level": "WARNING"},
        "twilio": {"level": "WARNING"},
        # urllib3 logs request lines (with query strings: Vendista's token) at DEBUG.
        "urllib3": {"level": "INFO"},
    },
}
