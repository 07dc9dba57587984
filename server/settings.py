"""Layer: server. Django settings, read from the environment once at start-up.

``KIOSK_SERVER_DATA``          data directory (default ``./var/server``): the SQLite database, the secret key and
                               the static files (``static/``, collected by ``kiosk-server serve``, served by WhiteNoise)
``KIOSK_SERVER_DATABASE_URL``  a database URL (``postgres://…``) instead of SQLite in the data directory
``KIOSK_SERVER_SECRET_KEY``    Django's secret key; without it one is generated once into the data directory
``KIOSK_SERVER_ALLOWED_HOSTS`` comma-separated host names added to 127.0.0.1 and localhost (``*`` allows any)
``KIOSK_SERVER_TIME_ZONE``     the time zone the admin shows (default Asia/Ho_Chi_Minh)
``KIOSK_SERVER_LOG_LEVEL``     INFO unless set
``KIOSK_SERVER_MAX_VISITS``    fewer than 500 visits per upload (tests: the kiosk's 413 split; server.middleware)
``KIOSK_SERVER_TEST_DIE_AFTER_COMMIT``  crash tests only, never in production: see ``server.api``

The national forwarder (``kiosk-server forward``, ``server.province.forwarder``):

``KIOSK_SERVER_FORWARD_URL``         the national endpoint: ``https://…`` (``http://`` only to a loopback address)
``KIOSK_SERVER_FORWARD_TOKEN_FILE``  a file holding its bearer token (never logged)
``KIOSK_SERVER_FORWARD_CA_FILE``     the CA certificate(s) its TLS is verified against (default: the system's)
``KIOSK_SERVER_FORWARD_MAPPING``     a JSON file ``{"<national field>": "<our field>"}`` (default: the mapping in
                                     ``server.province.forwarder.DEFAULT_MAPPING``)
``KIOSK_SERVER_FORWARD_BATCH``       records per request (default 200; a 413 halves it)
``KIOSK_SERVER_FORWARD_CONNECT_TIMEOUT_S`` / ``…_READ_TIMEOUT_S``  per request (default 5 / 30)
``KIOSK_SERVER_FORWARD_BACKOFF_BASE_S`` / ``…_BACKOFF_CAP_S``      back-off with full jitter (default 1 / 300)
``KIOSK_SERVER_FORWARD_IDLE_S``      how often an idle forwarder looks at its outbox again (default 10)

Retention and deletion (``kiosk-server retention apply``, ``kiosk-server forget``; ``server.province.retention``):

``KIOSK_SERVER_RETENTION``           JSON ``{"<kind>": <days>}`` over the defaults (visits 30, conflicts 90,
                                     heartbeats 30, upload_logs 90, citizen_reports 365, audit_entries 730)
``KIOSK_SERVER_IDENTITY_KEY_FILE``   the province's identity keyring (``kiosk.identity``) that ``forget`` hashes an
                                     ID number with, under every key; without it the public demo keyring
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

DATA_DIR = Path(os.environ.get("KIOSK_SERVER_DATA") or "var/server").resolve()
SECRET_KEY_FILE = DATA_DIR / "secret_key"


def _secret_key() -> str:
    """The key from the environment, else the one kept in the data directory (made once, mode 0600)."""
    from_env = os.environ.get("KIOSK_SERVER_SECRET_KEY", "").strip()
    if from_env:
        return from_env
    try:
        return SECRET_KEY_FILE.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    try:
        # O_EXCL: two processes starting together keep one key (the loser reads the winner's).
        fd = os.open(SECRET_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return SECRET_KEY_FILE.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
        f.flush()
        os.fsync(f.fileno())
    return key


def _database() -> dict[str, Any]:
    url = os.environ.get("KIOSK_SERVER_DATABASE_URL", "").strip()
    if url:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
    else:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        config = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(DATA_DIR / "server.sqlite3")}
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE: a write transaction takes the write lock at BEGIN, so two workers never deadlock on an
        # upgrade from a read lock; WAL lets readers go on meanwhile; FULL survives a power cut.
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
        }
    return config


def _allowed_hosts() -> list[str]:
    hosts = ["127.0.0.1", "localhost"]
    extra = os.environ.get("KIOSK_SERVER_ALLOWED_HOSTS", "")
    hosts += [h.strip() for h in extra.split(",") if h.strip() and h.strip() not in hosts]
    return hosts


BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = _secret_key()
DEBUG = False
ALLOWED_HOSTS = _allowed_hosts()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "server.province",
]

MIDDLEWARE = [
    "server.middleware.RequestLogMiddleware",
    "server.middleware.BodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The admin's CSS and scripts from STATIC_ROOT, by the app itself: no web server needed in front.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "server.urls"
WSGI_APPLICATION = "server.wsgi.application"

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
            ]
        },
    }
]

DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The API's own limit (server.middleware) is 1 MiB; Django's is set to the same so no path reads more.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]
# Argon2 (argon2-cffi, a dependency) for new passwords; PBKDF2 still verifies older hashes and is upgraded.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
TIME_ZONE = os.environ.get("KIOSK_SERVER_TIME_ZONE") or "Asia/Ho_Chi_Minh"

STATIC_URL = "static/"
# The dashboard's own CSS and scripts (charts included): served by this server, never from a CDN.
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Gzipped copies beside the files; no hashed names, so a page renders also before collectstatic has run.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# WhiteNoise warns at start-up about a missing STATIC_ROOT; an empty one just serves nothing yet.
with contextlib.suppress(OSError):
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "server.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    },
    "root": {"handlers": ["stderr"], "level": os.environ.get("KIOSK_SERVER_LOG_LEVEL") or "INFO"},
    "loggers": {
        # django.request logs 4xx as warnings with the request attached; our access log says the same once.
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
