"""Settings, all read from the environment (see README.md and .env.example).

The defaults give the embedded local set-up: SQLite, the local-memory cache and
Celery tasks run eagerly in-process. Production sets ``DATABASE_URL``,
``REDIS_URL``, ``CELERY_BROKER_URL``, ``SECRET_KEY`` and ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# A placeholder so that local development needs no configuration. It can never
# serve production: with DEBUG off, start-up refuses it.
INSECURE_DEFAULT_SECRET_KEY = "django-insecure-local-development-only-change-me"

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or INSECURE_DEFAULT_SECRET_KEY
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
# Behind a proxy that terminates TLS, the admin's forms are posted from an
# https:// origin: Django must trust the proxy's X-Forwarded-Proto and the origin.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

if not DEBUG and (not SECRET_KEY or SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY is missing or is the insecure development default while DEBUG is off. "
        "Set SECRET_KEY to a long random value (or set DEBUG=true for local development)."
    )
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is empty while DEBUG is off.")

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
    # Swagger UI and ReDoc as static files of this service (SPECTACULAR_SETTINGS).
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_guid",
    "references",
    "pending_queue",
    "audit",
    "sync",
    "licensing",
    "catalogs",
    "text_models",
]

MIDDLEWARE = [
    # First, so every answer (a 503 included) carries the request id and every log
    # line of the request has it; the guard drops a malformed incoming id.
    "common.request_id.RequestIdHeaderGuard",
    "django_guid.middleware.guid_middleware",
    "common.database.DatabaseOutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
#: Under the ASGI entry point (config.asgi), the threads per process that run
#: Django for everything the in-memory fast path does not answer.
WSGI_THREADS = env.int("WSGI_THREADS", default=8)

DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": environ.Env.db_url_config(DATABASE_URL)}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads of the dev server (and the importer) write; wait for the
    # lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # A stopped, unreachable or hung server must cost a bounded wait (then 503), never
    # a thread held for minutes: a connect timeout, a server-side statement timeout,
    # and a TCP timeout for sent data nobody acknowledges (the server's host is gone).
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT_SECONDS", default=5))
    _statement_timeout = env.float("DATABASE_STATEMENT_TIMEOUT_SECONDS", default=30.0)
    if _statement_timeout > 0:
        _pg_options.setdefault("options", f"-c statement_timeout={int(_statement_timeout * 1000)}")
    _pg_options.setdefault("tcp_user_timeout", 10_000)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# Connect and read timeout of every Redis call (cache and revision subscription).
REDIS_SOCKET_TIMEOUT_SECONDS = env.float("REDIS_SOCKET_TIMEOUT_SECONDS", default=0.3)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="hmr"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # Without timeouts a hung Redis blocks every thread that touches it;
                # with them a failure costs one short wait, then CACHE_BREAKER skips
                # the cache and the database answers.
                "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT_SECONDS,
                "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT_SECONDS,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "horde-model-reference",
        }
    }

# Without Redis, processes on one SQLite database learn each other's changes from one
# small file per category in this directory (see references.document_cache); with a
# server database and no Redis, every read checks the revision in the database.
_SQLITE_NAME = str(DATABASES["default"]["NAME"]) if "sqlite" in DATABASES["default"]["ENGINE"] else ""
REVISION_SIGNAL_DIR = env.str("REVISION_SIGNAL_DIR", default="") or (
    f"{_SQLITE_NAME}-revisions" if _SQLITE_NAME and not _SQLITE_NAME.startswith(":") else ""
)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["common.parsers.DepthLimitedJSONParser"],
    "EXCEPTION_HANDLER": "common.api.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pending_queue.auth.HordeApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["pending_queue.auth.HasRole"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Horde Model Reference",
    "DESCRIPTION": (
        "The authoritative registry of AI Horde model metadata. Category documents carry strong "
        "ETags: send If-None-Match to get 304 when nothing changed."
    ),
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The documented paths already begin with /api; a server of "/api" would make every
    # documented URL /api/api/... (Swagger's "Try it out" and generated clients).
    "SERVERS": [{"url": "/"}],
    # The schema and its pages are public and must load even with a bad or throttled
    # apikey header: no authentication (so the header is never looked at), no throttle.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": r"/api/model_references",
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs pages load Swagger UI and ReDoc from our static files (WhiteNoise), not
    # from a public CDN: on a network without it they would be blank pages.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No validator badge: Swagger UI would send the schema URL to swagger.io for it.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # 3.1: the v2 record schemas come from pydantic as JSON Schema 2020-12.
    "OAS_VERSION": "3.1.0",
    "PREPROCESSING_HOOKS": ["common.openapi.only_prefixed_routes"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common.openapi.add_record_schemas",
        "catalogs.api.openapi.add_catalog_schemas",
        "common.openapi.document_common_answers",
    ],
    # One name per shared choice set (proposal statuses, categories) across the queue routes.
    "ENUM_NAME_OVERRIDES": {
        "ProposalStatusEnum": "pending_queue.models.Status",
        "CategoryEnum": "references.api.common.CATEGORY_VALUES",
    },
}

# Sent with every category document. Clients revalidate with If-None-Match, which
# costs a 304 and no database work; max-age lets a CDN absorb bursts.
DOCUMENT_CACHE_CONTROL = env.str("DOCUMENT_CACHE_CONTROL", default="public, max-age=0, must-revalidate")

# Celery: with no broker configured, tasks run eagerly in the calling process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
# A dead or hung broker must cost a web request that enqueues a bounded delay, never a
# hang: every broker connection has a timeout and publishing retries briefly, then
# the enqueue is logged and recorded as a failed SyncRun (the change stays committed).
# Deployments (or test runs) sharing one broker keep apart by queue name.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_BROKER_TIMEOUT_SECONDS = env.float("CELERY_BROKER_TIMEOUT_SECONDS", default=3.0)
CELERY_BROKER_CONNECTION_TIMEOUT = CELERY_BROKER_TIMEOUT_SECONDS
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": CELERY_BROKER_TIMEOUT_SECONDS,
    "socket_connect_timeout": CELERY_BROKER_TIMEOUT_SECONDS,
    "max_retries": 1,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}
CELERY_REDIS_SOCKET_TIMEOUT = CELERY_BROKER_TIMEOUT_SECONDS
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = CELERY_BROKER_TIMEOUT_SECONDS
# A task is acknowledged after it ran, so a worker that dies mid-run leaves it to be
# redelivered; every task is idempotent, and the lease keeps a kind single-run.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# A sync run's lease outlives the hard time limit, so only a crashed run's lease expires.
SYNC_LEASE_SECONDS = env.int("SYNC_LEASE_SECONDS", default=CELERY_TASK_TIME_LIMIT + 60)
# After an applied change an export is enqueued this many seconds later; the changes
# of a burst share one export.
EXPORT_ON_CHANGE = env.bool("EXPORT_ON_CHANGE", default=True)
EXPORT_DEBOUNCE_SECONDS = env.float("EXPORT_DEBOUNCE_SECONDS", default=1.0)
# Published releases kept under EXPORT_DIR/releases (the one `current` points to is never removed).
EXPORT_KEEP_RELEASES = env.int("EXPORT_KEEP_RELEASES", default=5)

# The AI Horde (identity, usage statistics) and the curation allowlists.
AI_HORDE_URL = env.str("AI_HORDE_URL", default="https://aihorde.net/api/")
# find_user answers in well under a second; a look-up that takes longer holds a web
# thread, so give up after a few seconds (503, try again) rather than ten.
AI_HORDE_TIMEOUT_SECONDS = env.float("AI_HORDE_TIMEOUT_SECONDS", default=5.0)
# Per process: threads that may wait on the AI Horde at once. Keep it below the
# server's threads (WSGI_THREADS), so a hung AI Horde never starves the public reads;
# a caller finding every slot busy gets 503 at once.
AI_HORDE_MAX_CONCURRENT_LOOKUPS = env.int("AI_HORDE_MAX_CONCURRENT_LOOKUPS", default=3)
# After three failed look-ups, keys are refused (503) for this long; then one probe.
AI_HORDE_COOL_DOWN_SECONDS = env.float("AI_HORDE_COOL_DOWN_SECONDS", default=30.0)
# The statistics task (sync.fetch_statistics): per-request timeout, attempts per request,
# the first back-off (doubled per attempt), and the longest 429 Retry-After it waits.
AI_HORDE_STATISTICS_TIMEOUT_SECONDS = env.float("AI_HORDE_STATISTICS_TIMEOUT_SECONDS", default=20.0)
AI_HORDE_STATISTICS_ATTEMPTS = env.int("AI_HORDE_STATISTICS_ATTEMPTS", default=3)
AI_HORDE_RETRY_BACKOFF_SECONDS = env.float("AI_HORDE_RETRY_BACKOFF_SECONDS", default=2.0)
AI_HORDE_RETRY_AFTER_MAX_SECONDS = env.float("AI_HORDE_RETRY_AFTER_MAX_SECONDS", default=30.0)
# Days of statistics snapshots kept (one per category per day, plus the latest).
STATISTICS_HISTORY_DAYS = env.int("STATISTICS_HISTORY_DAYS", default=30)
REQUESTOR_IDS = [i.strip() for i in env.list("REQUESTOR_IDS", default=[]) if i.strip()]
APPROVER_IDS = [i.strip() for i in env.list("APPROVER_IDS", default=[]) if i.strip()]
# AI Horde user ids that may edit the licensing catalog directly (as in 8.6.2, a list of
# its own, independent of the queue's roles). Empty: nobody may (fail closed).
LICENSING_EDITOR_IDS = [i.strip() for i in env.list("LICENSING_EDITOR_IDS", default=[]) if i.strip()]
# Seconds after which an apply reservation is considered crashed and returned to approved.
APPLY_LEASE_SECONDS = env.int("APPLY_LEASE_SECONDS", default=300)
# API-key checks per minute per client address (each unknown key costs a call to the
# AI Horde), and requests per minute per client on write and queue routes.
AUTH_CHECKS_PER_MINUTE = env.int("AUTH_CHECKS_PER_MINUTE", default=30)
WRITE_RATE = env.str("WRITE_RATE", default="600/min")
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"writes": WRITE_RATE}
# Request bodies above this size are refused with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# Where the export task writes the JSON documents for clients and CDNs.
EXPORT_DIR = BASE_DIR / (env.str("EXPORT_DIR", default="") or "var/export")

# Where `seed_reference` reads the legacy files: a directory laid out like
# shared/reference-data (image/*.json, text/...) or a base URL. Empty means the
# public GitHub repositories.
SEED_SOURCE = env.str("SEED_SOURCE", default="")
LEGACY_IMAGE_REPO_RAW_URL = env.str(
    "LEGACY_IMAGE_REPO_RAW_URL",
    default="https://raw.githubusercontent.com/Haidra-Org/AI-Horde-image-model-reference/main/",
)
LEGACY_TEXT_REPO_RAW_URL = env.str(
    "LEGACY_TEXT_REPO_RAW_URL",
    default="https://raw.githubusercontent.com/Haidra-Org/AI-Horde-text-model-reference/main/",
)
LEGACY_FETCH_TIMEOUT_SECONDS = env.float("LEGACY_FETCH_TIMEOUT_SECONDS", default=20.0)
# Each legacy file is tried this often, waiting LEGACY_FETCH_BACKOFF_SECONDS, then twice
# as long...; a 429 waits its Retry-After instead, unless that is longer than the cap.
LEGACY_FETCH_ATTEMPTS = env.int("LEGACY_FETCH_ATTEMPTS", default=3)
LEGACY_FETCH_BACKOFF_SECONDS = env.float("LEGACY_FETCH_BACKOFF_SECONDS", default=0.5)
LEGACY_FETCH_RETRY_AFTER_MAX_SECONDS = env.float("LEGACY_FETCH_RETRY_AFTER_MAX_SECONDS", default=60.0)
# The upstream import (sync.import_upstream): `apply` fast-forwards upstream changes to
# records not changed here and queues the rest as conflict proposals; `propose` queues
# every upstream change as a proposal.
SYNC_UPSTREAM_MODE = env.str("SYNC_UPSTREAM_MODE", default="apply")
if SYNC_UPSTREAM_MODE not in ("apply", "propose"):
    raise ImproperlyConfigured(f"SYNC_UPSTREAM_MODE must be 'apply' or 'propose', not {SYNC_UPSTREAM_MODE!r}")

# Pull requests to the legacy repositories (sync.open_pull_requests). Without a token the
# run is a dry run: the would-be pull request is written to PULL_REQUEST_DRY_RUN_DIR.
GITHUB_API_URL = env.str("GITHUB_API_URL", default="https://api.github.com")
GITHUB_TOKEN = env.str("GITHUB_TOKEN", default="")
GITHUB_IMAGE_REPO = env.str("GITHUB_IMAGE_REPO", default="Haidra-Org/AI-Horde-image-model-reference")
GITHUB_TEXT_REPO = env.str("GITHUB_TEXT_REPO", default="Haidra-Org/AI-Horde-text-model-reference")
GITHUB_TARGET_BRANCH = env.str("GITHUB_TARGET_BRANCH", default="main")
# Our own branch in each repository, reset to the target's head on every run.
GITHUB_SYNC_BRANCH = env.str("GITHUB_SYNC_BRANCH", default="horde-model-reference/sync")
GITHUB_TIMEOUT_SECONDS = env.float("GITHUB_TIMEOUT_SECONDS", default=20.0)
GITHUB_RETRY_ATTEMPTS = env.int("GITHUB_RETRY_ATTEMPTS", default=3)
GITHUB_RETRY_BACKOFF_SECONDS = env.float("GITHUB_RETRY_BACKOFF_SECONDS", default=2.0)
# A rate limit asking for a longer wait fails the run (the task retries later) instead.
GITHUB_RATE_LIMIT_MAX_WAIT_SECONDS = env.float("GITHUB_RATE_LIMIT_MAX_WAIT_SECONDS", default=60.0)
PULL_REQUEST_DRY_RUN_DIR = BASE_DIR / (env.str("PULL_REQUEST_DRY_RUN_DIR", default="") or "var/pull-requests")

# Download-link health (sync.check_download_links, daily): checks in flight overall and
# per host (file hosts throttle or ban bursts), the timeout of one check, the answer time
# above which a link counts as slow, and the redirects followed before giving up.
LINK_CHECK_CONCURRENCY = env.int("LINK_CHECK_CONCURRENCY", default=32)
LINK_CHECK_PER_HOST = env.int("LINK_CHECK_PER_HOST", default=4)
LINK_CHECK_TIMEOUT_SECONDS = env.float("LINK_CHECK_TIMEOUT_SECONDS", default=15.0)
LINK_CHECK_SLOW_SECONDS = env.float("LINK_CHECK_SLOW_SECONDS", default=5.0)
LINK_CHECK_MAX_REDIRECTS = env.int("LINK_CHECK_MAX_REDIRECTS", default=5)

# Approvers and requestors may log in to the admin with their AI Horde API key.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "pending_queue.admin_auth.HordeApiKeyBackend",
]

# /api/health asks the database, the cache and the broker at once; a dependency that
# has not answered within this many seconds is reported as `timeout`.
HEALTH_CHECK_TIMEOUT_SECONDS = env.float("HEALTH_CHECK_TIMEOUT_SECONDS", default=2.0)

# The request id (X-Request-ID): accepted when well formed (common.request_id), else
# generated; echoed in the response, stamped on log lines, audit events and tasks.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    # common.request_id.RequestIdHeaderGuard has validated it (django-guid's own check
    # accepts UUID4s only).
    "VALIDATE_GUID": False,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": False,
}

# `text` (readable, the default and `make run`) or `json` (one object per line, production).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'text' or 'json', not {LOG_FORMAT!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "common.log_format.RequestIdFilter"},
        "redact_secrets": {"()": "common.log_format.SecretRedactingFilter"},
    },
    "formatters": {
        "text": {
            "()": "common.log_format.RedactingTextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s",
        },
        "json": {"()": "common.log_format.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # django-guid logs every id it sees or makes at INFO: noise, not news.
        "django_guid": {"level": "WARNING"},
    },
}
