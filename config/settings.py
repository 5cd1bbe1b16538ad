"""Honora settings, read from the environment with safe development defaults.

With DEBUG on (the default) everything works without any variable set. With
DEBUG=0, SECRET_KEY and FIELD_ENCRYPTION_KEY must be given; a malformed value of
any variable stops start-up with a message that names it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from botocore.config import Config as BotoConfig
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_choice,
    env_decimal,
    env_int,
    env_list,
    env_str,
    parse_address,
    parse_encryption_secrets,
    parse_printed_line,
    parse_tax_id,
    parse_year_table,
)
from ops import sentry
from ops.logging import logging_config
from payments.stripe.countries import STRIPE_COUNTRIES

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("HONORA_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"
_DEV_FIELD_KEY = "dev-only-insecure-field-encryption-key-0123456789abcdef"

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = _DEV_SECRET_KEY
elif len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured(
        "SECRET_KEY must be at least 50 characters with 5 or more distinct ones"
    )
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

_field_keys = env_str("FIELD_ENCRYPTION_KEY")
if not _field_keys.strip():
    if not DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be set when DEBUG is off")
    _field_keys = _DEV_FIELD_KEY
# Newest first: the first secret encrypts, every secret can decrypt (rotation).
FIELD_ENCRYPTION_KEY = parse_encryption_secrets("FIELD_ENCRYPTION_KEY", _field_keys)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "simple_history",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "core",
    "accounts",
    "consultants",
    "engagements",
    "payments",
    "agreements",
    "portal",
    "consents",
    "meetings",
    "api",
    "backups",
    "demo",
    "ops",
    "expenses",
    "promises",
    "income",
    "transparency",
]

MIDDLEWARE = [
    # First: every log line of the request, even the other middlewares', has its id.
    "ops.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files, before anything that reads sessions or the database.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After LocaleMiddleware (the browser's language) and the user: a signed-in
    # consultant's preferred language wins; LocaleMiddleware's response then says it.
    "accounts.middleware.ConsultantLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "accounts.middleware.RoleSessionMiddleware",
    "core.middleware.DomainErrorMiddleware",
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
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.roles",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
_default_db_url = f"sqlite:///{VAR_DIR / 'honora.sqlite3'}"
_database_url = env_str("DATABASE_URL") or _default_db_url
try:
    _db = dj_database_url.parse(
        _database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 0, minimum=0)
    )
except Exception as exc:  # dj-database-url raises several types for bad URLs
    raise ImproperlyConfigured(f"DATABASE_URL could not be read: {exc}") from None
if not _db.get("ENGINE"):
    raise ImproperlyConfigured("DATABASE_URL must start with sqlite:// or postgres://")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] not in ("", ":memory:"):
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _db.setdefault("OPTIONS", {})
    # WAL lets the web process and the task worker use one SQLite file at once.
    _db["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;")
    _db["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    _db["TEST"] = (
        {"NAME": str(VAR_DIR / "test-honora.sqlite3")}
        if env_bool("SQLITE_TEST_ON_DISK", False)
        else {}
    )
else:
    # A database that does not answer fails a request (and /readyz) in seconds
    # rather than hanging it.
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"].setdefault(
        "connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5, minimum=1, maximum=60)
    )
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts and sign-in ---------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {
    # Failed sign-ins: per address and per IP; the counts are allauth's format.
    "login_failed": "5/5m/ip,5/5m/key",
    "login": "30/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "request_login_code": "10/m/ip,3/m/key",
}
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Honora")
MFA_PASSKEY_LOGIN_ENABLED = False

# Consultants get short sessions; staff a working day. Both reset on activity.
CONSULTANT_SESSION_IDLE_MINUTES = env_int("CONSULTANT_SESSION_IDLE_MINUTES", 20, minimum=1)
STAFF_SESSION_IDLE_MINUTES = env_int("STAFF_SESSION_IDLE_MINUTES", 8 * 60, minimum=1)
SESSION_COOKIE_AGE = STAFF_SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Cache (rate limits, used TOTP codes) -----------------------------------
# With several web processes (or machines) the cache must be one they share: Redis.
# A dead Redis fails a request within the timeouts instead of hanging a worker.
_redis_url = env_str("REDIS_URL")
REDIS_TIMEOUT_SECONDS = env_int("REDIS_TIMEOUT_SECONDS", 2, minimum=1, maximum=60)
if _redis_url:
    if not _redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis_url,
            # Several installations may share one Redis: keys carry a prefix and a version.
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "honora"),
            "VERSION": 1,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                "retry_on_timeout": False,
                "health_check_interval": 30,
            },
        }
    }
else:
    CACHES = {
        "default": {
            # Django's database cache with a one-statement set (core.cache).
            "BACKEND": "core.cache.DatabaseCache",
            "LOCATION": "honora_cache",
        }
    }

# --- Background tasks ---------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# --- REST API -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.SignedInWithMFA"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "api.ordering.StrictOrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttles.WriteThrottle", "api.throttles.ReadThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "writes": env_str("API_WRITE_RATE", "120/min"),
        "reads": env_str("API_READ_RATE", "600/min"),
        "auth": env_str("API_AUTH_FAILURE_RATE", "10/min"),
    },
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    # JSON in, so every request body means exactly what the schema says.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_VERSIONING_CLASS": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Honora API",
    "DESCRIPTION": (
        "Contributions, approvals and payments of a research study's consultants. "
        "Errors share one shape: {code, message, fields}. POSTs that create or change "
        "state honour an Idempotency-Key header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ContributionKindEnum": "engagements.models.Contribution.Kind",
        "RateKindEnum": "engagements.models.Rate.Kind",
        "ContributionStatusEnum": "engagements.models.Contribution.Status",
        "ConsultantStatusEnum": "consultants.models.Consultant.Status",
        "EngagementStatusEnum": "engagements.models.Engagement.Status",
        "SessionKindEnum": "meetings.models.Session.Kind",
        "SessionStatusEnum": "meetings.models.Session.Status",
        "InvitationStatusEnum": "meetings.models.Invitation.Status",
        "PayPlanKindEnum": "income.models.PayPlan.Kind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.shared_headers",
    ],
    # Swagger UI served from our own static files: nothing loads from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
KNOX_TOKEN_MODEL = "accounts.ApiToken"
# Knox's own migrations would create its (swapped-out) token table anyway.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=30),
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_PREFIX": "hon_",
    "AUTO_REFRESH": False,
}

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates and numbers by name (DATE_FORMAT, SHORT_DATE_FORMAT...), per language: English
# "28 November 2026", Spanish "28 de noviembre de 2026"; "$1,234.50" in both (es-US).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env_str("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

# --- Static files and storage ------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Built with the release (collectstatic), beside the code: not data, so not in VAR_DIR.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Hashed, compressed static files (WhiteNoise) are the rule in production. The build
# step may ask for them without production's secrets: STATIC_FILES_HASHED=1
# manage.py collectstatic --noinput.
STATIC_FILES_HASHED = env_bool("STATIC_FILES_HASHED", not DEBUG)
MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(VAR_DIR / "private")))
# There is deliberately no MEDIA_URL: every stored file (receipts, proofs of
# payment) is private and served only through views that check who is asking.


def _s3_client_config() -> BotoConfig:
    # "path" for most S3-compatible servers (MinIO, Ceph...), "virtual" or "auto" for AWS.
    style = env_str("AWS_S3_ADDRESSING_STYLE", "auto")
    if style not in ("auto", "path", "virtual"):
        raise ImproperlyConfigured("AWS_S3_ADDRESSING_STYLE must be auto, path or virtual")
    return BotoConfig(
        s3={"addressing_style": style},
        signature_version=env_str("AWS_S3_SIGNATURE_VERSION", "s3v4"),
        connect_timeout=env_int("AWS_S3_CONNECT_TIMEOUT", 5, minimum=1, maximum=120),
        read_timeout=env_int("AWS_S3_READ_TIMEOUT", 30, minimum=1, maximum=600),
        retries={"max_attempts": env_int("AWS_S3_MAX_ATTEMPTS", 3, minimum=1, maximum=10)},
    )


_storage_backend = env_str("STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")
_storage_options: dict = {}
if _storage_backend == "storages.backends.s3.S3Storage":
    # S3-compatible object storage (django-storages). Credentials come from the
    # usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables.
    _bucket = env_str("AWS_STORAGE_BUCKET_NAME")
    if not _bucket:
        raise ImproperlyConfigured("AWS_STORAGE_BUCKET_NAME must be set when STORAGE_BACKEND is S3")
    _storage_options = {
        "bucket_name": _bucket,
        "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
        "region_name": env_str("AWS_S3_REGION_NAME") or None,
        "default_acl": None,  # private: files are only ever served through views
        "querystring_auth": True,
        "file_overwrite": False,
        # Addressing, signature, and bounded waits and retries: a dead object store
        # fails a request instead of hanging a worker.
        "client_config": _s3_client_config(),
    }
STORAGES = {
    # Every stored file is private and encrypted at rest (core.storage), on the
    # file system or in S3-compatible storage alike.
    "default": {
        "BACKEND": "core.storage.EncryptedStorage",
        "OPTIONS": {"backend": _storage_backend, "options": _storage_options},
    },
    # In production static files are collected at build time (collectstatic) with
    # content-hashed names and gzip/brotli copies, and WhiteNoise serves them with a
    # year-long Cache-Control. With DEBUG on they are found where they live, so the
    # demo and the tests need no collectstatic.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_FILES_HASHED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if DEBUG:
    # Decided here, once: pytest-django turns DEBUG off while tests run, and the
    # tests (like the demo) serve static files from where they live.
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
MAX_RECEIPT_UPLOAD_BYTES = env_int("MAX_RECEIPT_UPLOAD_BYTES", 5 * 1024 * 1024, minimum=1024)

# --- E-mail -------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
# Seconds an SMTP connection may block: a dead mail server cannot hang a worker.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1, maximum=300)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on")
# A sender name that says nothing about the study's subject (DOMAIN.md).
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Honora <no-reply@honora.invalid>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# --- Money, tax and pay rules -------------------------------------------------
CURRENCY = env_str("CURRENCY", "USD").upper()
if len(CURRENCY) != 3 or not CURRENCY.isalpha():
    raise ImproperlyConfigured(
        f"CURRENCY must be a three-letter ISO code like USD; got {CURRENCY!r}"
    )
# The 1099-NEC threshold by payment year (DOMAIN.md); years after the last
# entry use the last entry until the table is updated.
TAX_FORM_THRESHOLDS = parse_year_table(
    "TAX_FORM_THRESHOLDS", env_str("TAX_FORM_THRESHOLDS", "2024:600,2025:600,2026:2000")
)
# An organisation may collect W-9s below the legal threshold (0 means always).
_org_threshold = env_str("TAX_FORM_ORG_THRESHOLD")
TAX_FORM_ORG_THRESHOLD = (
    env_decimal("TAX_FORM_ORG_THRESHOLD", "0", minimum=Decimal("0")) if _org_threshold else None
)
HOURLY_RATE_FLOOR = env_decimal("HOURLY_RATE_FLOOR", "57.00", minimum=Decimal("0"))
TIME_TO_PAY_TARGET_DAYS = env_int("TIME_TO_PAY_TARGET_DAYS", 14, minimum=1)
# How many days before a promised pay date a blocked payment is reported (promises/).
PAY_SLIP_WARNING_DAYS = env_int("PAY_SLIP_WARNING_DAYS", 2, minimum=0, maximum=30)

# Bounds on every number people type (read through core.limits): far above what a
# real study records, low enough that no sum of accepted values overflows a column.
# Upper bounds on the limits themselves: a day has 24 hours, and no configuration may
# let accepted amounts add up past a money column (12 digits, 9,999,999,999.99).
LIMIT_HOURS_PER_ENTRY = env_decimal(
    "LIMIT_HOURS_PER_ENTRY", "24", minimum=Decimal("0.25"), maximum=Decimal("24")
)
LIMIT_HOURS_PER_DAY = env_decimal(
    "LIMIT_HOURS_PER_DAY", "24", minimum=Decimal("0.25"), maximum=Decimal("24")
)
LIMIT_HONORARIA_PER_ENTRY = env_int("LIMIT_HONORARIA_PER_ENTRY", 100, minimum=1)
LIMIT_AMOUNT_PER_ENTRY = env_decimal(
    "LIMIT_AMOUNT_PER_ENTRY", "10000", minimum=Decimal("1"), maximum=Decimal("1000000")
)
LIMIT_AMOUNT_PER_PAYMENT = env_decimal(
    "LIMIT_AMOUNT_PER_PAYMENT", "50000", minimum=Decimal("1"), maximum=Decimal("10000000")
)
LIMIT_AMOUNT_PER_BATCH = env_decimal(
    "LIMIT_AMOUNT_PER_BATCH", "5000000", minimum=Decimal("1"), maximum=Decimal("1000000000")
)
LIMIT_EARLIEST_WORK_DATE = env_str("LIMIT_EARLIEST_WORK_DATE", "2000-01-01")
# What a mileage reimbursement pays per mile (or kilometre) travelled (expenses/).
MILEAGE_RATE = env_decimal("MILEAGE_RATE", "0.70", minimum=Decimal("0.01"), maximum=Decimal("100"))

# Where people reach Honora: links in e-mails, receipt QR codes and Stripe's
# onboarding return point here. In production it defaults to the first allowed host.
_default_site = (
    "http://127.0.0.1:8000"
    if DEBUG
    else (
        f"https://{ALLOWED_HOSTS[0].lstrip('.')}"
        if ALLOWED_HOSTS and ALLOWED_HOSTS[0] != "*"
        else ""
    )
)
SITE_URL = env_str("SITE_URL", _default_site).rstrip("/")
if SITE_URL and not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SITE_URL must start with http:// or https://; got {SITE_URL!r}")

# --- Stripe -------------------------------------------------------------------
# Stripe is on when a secret key is set. In development the key is a sandbox key
# and the API base is the local Stripe-compatible server (manage.py stripe_sandbox);
# in production, without STRIPE_SECRET_KEY, Stripe is simply off and nothing
# else about it is required.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "sk_test_honora_demo" if DEBUG else "").strip()
STRIPE_ENABLED = bool(STRIPE_SECRET_KEY)
if STRIPE_ENABLED and not STRIPE_SECRET_KEY.startswith(("sk_", "rk_")):
    raise ImproperlyConfigured(
        "STRIPE_SECRET_KEY must be a secret or restricted key (starting sk_ or rk_)"
    )
STRIPE_API_BASE = env_str(
    "STRIPE_API_BASE", "http://127.0.0.1:12111" if DEBUG else "https://api.stripe.com"
).rstrip("/")
if not STRIPE_API_BASE.startswith(("https://", "http://127.0.0.1", "http://localhost")):
    raise ImproperlyConfigured(
        f"STRIPE_API_BASE must be an https:// URL (or the local sandbox); got {STRIPE_API_BASE!r}"
    )
# Several secrets while a webhook secret rotates: an event signed by any of them passes.
STRIPE_WEBHOOK_SECRETS = env_list(
    "STRIPE_WEBHOOK_SECRETS", "whsec_honora_demo_sandbox" if DEBUG else ""
)
for _position, _secret in enumerate(STRIPE_WEBHOOK_SECRETS, start=1):
    if not _secret.startswith("whsec_"):
        raise ImproperlyConfigured(
            f"STRIPE_WEBHOOK_SECRETS: secret number {_position} must start with whsec_"
        )
if STRIPE_ENABLED and not DEBUG:
    if not STRIPE_WEBHOOK_SECRETS:
        raise ImproperlyConfigured(
            "STRIPE_WEBHOOK_SECRETS must be set when STRIPE_SECRET_KEY is (reversals and "
            "failed payouts arrive only by webhook)"
        )
    if not SITE_URL.startswith("https://"):
        raise ImproperlyConfigured(
            "SITE_URL must be the site's https:// address when Stripe is on (onboarding "
            "links return there)"
        )
# Stripe keeps a platform's balance per source type and a transfer draws from "card"
# unless it names another. A study's platform is funded by bank top-ups and never
# charges cards, so Honora's transfers draw from bank_account unless told otherwise.
STRIPE_TRANSFER_SOURCE_TYPE = env_choice(
    "STRIPE_TRANSFER_SOURCE_TYPE", "bank_account", ("bank_account", "card", "fpx")
)
# The SDK's own retries of one call (same idempotency key); the task retries beyond them.
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2, minimum=0)
STRIPE_TIMEOUT = env_int("STRIPE_TIMEOUT", 30, minimum=1)
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300, minimum=1)
# The SDK accepts signatures from the future; Honora allows only a little clock skew.
STRIPE_WEBHOOK_MAX_FUTURE_SECONDS = env_int("STRIPE_WEBHOOK_MAX_FUTURE_SECONDS", 60, minimum=0)
# Where the Stripe platform account is (ISO 3166 alpha-2). It decides each consultant's
# service agreement: full for the same country, recipient for an allowed cross-border
# one (payments/stripe/countries.py). STRIPE_CONNECT_COUNTRY, its old name (then "the
# country of new accounts"), is still read when STRIPE_PLATFORM_COUNTRY is not set.
_platform_country = env_str("STRIPE_PLATFORM_COUNTRY", "").strip().upper()
_connect_country = env_str("STRIPE_CONNECT_COUNTRY", "").strip().upper()
if _platform_country and _connect_country and _platform_country != _connect_country:
    raise ImproperlyConfigured(
        "STRIPE_CONNECT_COUNTRY is the old name of STRIPE_PLATFORM_COUNTRY; they disagree "
        f"({_connect_country!r} and {_platform_country!r}): keep only STRIPE_PLATFORM_COUNTRY"
    )
STRIPE_PLATFORM_COUNTRY = _platform_country or _connect_country or "US"
if STRIPE_PLATFORM_COUNTRY not in STRIPE_COUNTRIES:
    _variable = "STRIPE_PLATFORM_COUNTRY" if _platform_country else "STRIPE_CONNECT_COUNTRY"
    raise ImproperlyConfigured(
        f"{_variable} must be a two-letter country code where Stripe offers accounts "
        f"({', '.join(sorted(STRIPE_COUNTRIES))}); got {STRIPE_PLATFORM_COUNTRY!r}"
    )
# Stripe may forget an idempotency key after 24 hours; past this age Honora asks
# Stripe what exists before it calls again (and then uses a new key if nothing does).
STRIPE_KEY_MAX_AGE_HOURS = env_int("STRIPE_KEY_MAX_AGE_HOURS", 20, minimum=1)
# A payment whose task has shown no sign of life for this long is picked up again
# by manage.py payments_sweep (a worker may have died mid-call).
PAYMENTS_SWEEP_AFTER_SECONDS = env_int("PAYMENTS_SWEEP_AFTER_SECONDS", 300, minimum=1)
# When Stripe's answer is unknown the task tries again with the same key after
# base * 2^(tries-1) seconds, at most the maximum.
PAYMENTS_RETRY_BASE_SECONDS = env_int("PAYMENTS_RETRY_BASE_SECONDS", 2, minimum=0)
PAYMENTS_RETRY_MAX_SECONDS = env_int("PAYMENTS_RETRY_MAX_SECONDS", 300, minimum=1)
# How long a worker's claim on an attempt lasts beyond the longest call it can make
# (STRIPE_TIMEOUT for every try the SDK makes); another worker waits that long.
PAYMENTS_CLAIM_MARGIN_SECONDS = env_int("PAYMENTS_CLAIM_MARGIN_SECONDS", 30, minimum=0)
# A Stripe error kept by Stripe under a key (a stored 5xx) ends that key; after
# checking that nothing was created Honora tries a new key, this many times at most.
PAYMENTS_MAX_AUTOMATIC_ATTEMPTS = env_int("PAYMENTS_MAX_AUTOMATIC_ATTEMPTS", 3, minimum=1)

ORGANIZATION_NAME = env_str("ORGANIZATION_NAME", "Honora Demo Research Collaborative")
ORGANIZATION_CONTACT = env_str("ORGANIZATION_CONTACT", "finance@example.org")
# The payer as receipts and statements name it: its address (lines split by "\n") and tax id.
ORGANIZATION_ADDRESS = parse_address(
    "ORGANIZATION_ADDRESS",
    env_str("ORGANIZATION_ADDRESS", "400 Example Avenue, Suite 200\nSpringfield, IL 62701"),
)
ORGANIZATION_TAX_ID = parse_tax_id(
    "ORGANIZATION_TAX_ID", env_str("ORGANIZATION_TAX_ID", "00-0000000")
)
# Who signs income letters for the organisation (name and title as printed).
ORGANIZATION_SIGNATORY_NAME = parse_printed_line(
    "ORGANIZATION_SIGNATORY_NAME", env_str("ORGANIZATION_SIGNATORY_NAME", "Jordan Example")
)
ORGANIZATION_SIGNATORY_TITLE = parse_printed_line(
    "ORGANIZATION_SIGNATORY_TITLE", env_str("ORGANIZATION_SIGNATORY_TITLE", "Finance Director")
)

# --- Security -----------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many reverse proxies of our own stand in front of Honora, each appending to
# X-Forwarded-For. Rate limits (API and sign-in) take the client address that many
# entries from the right; with 0 the header is ignored and REMOTE_ADDR is used, so a
# client cannot pick its own address by sending the header.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT

# --- Audit history ------------------------------------------------------------
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True

# --- Logging: never personal data, so only our own structured messages ------
# One JSON object per line in production (LOG_FORMAT=json), plain text in development;
# every line carries the request id (ops.middleware) and, in a worker, the task id.
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain; got {LOG_FORMAT!r}")
LOGGING = logging_config(log_format=LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO"))

# --- Health, metrics and error reports (ops/) -------------------------------------
# /healthz and /readyz answer load balancers over plain HTTP too (no redirect to https).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# /readyz: the oldest due task may wait this long, and this many Stripe payments may be
# stuck (the sweeper's rule, PAYMENTS_SWEEP_AFTER_SECONDS), before the queue "warns".
READYZ_TASK_AGE_SECONDS = env_int(
    "READYZ_TASK_AGE_SECONDS", 600, minimum=1, maximum=7 * 24 * 60 * 60
)
READYZ_STUCK_PAYMENTS = env_int("READYZ_STUCK_PAYMENTS", 0, minimum=0, maximum=1_000_000)
# A warning answers 200 ("degraded"): a stuck queue is not cured by taking every web
# process out of the load balancer. On, a warning answers 503 like a failure.
READYZ_BACKLOG_FAILS = env_bool("READYZ_BACKLOG_FAILS", False)
# /metrics (Prometheus): off unless METRICS_ENABLED; a bearer token when METRICS_TOKEN is set.
METRICS_ENABLED = env_bool("METRICS_ENABLED", False)
METRICS_TOKEN = env_str("METRICS_TOKEN").strip()
METRICS_TIME_TO_PAY_WINDOW_DAYS = env_int(
    "METRICS_TIME_TO_PAY_WINDOW_DAYS", 90, minimum=1, maximum=3660
)
SENTRY_DSN = env_str("SENTRY_DSN").strip()
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production")
SENTRY_RELEASE = env_str("SENTRY_RELEASE").strip()
SENTRY_TRACES_SAMPLE_RATE = float(
    env_decimal("SENTRY_TRACES_SAMPLE_RATE", "0", minimum=Decimal("0"), maximum=Decimal("1"))
)
if SENTRY_DSN:
    sentry.init(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=SENTRY_RELEASE,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )


# --- Content-Security-Policy (django-csp) --------------------------------------------
# Every page's scripts, styles, fonts and images come from Honora itself: no inline
# script or style, nothing from elsewhere, no plugins, not framed. Images may also be
# data: URIs (the authenticator QR code). Form posts may redirect to Stripe's
# onboarding, so form-action is left open (navigation is not what CSP guards here).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}
