"""Kiji settings, read from the environment; the README lists every variable."""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (DEBUG=1 allows a development key)."
        )
    SECRET_KEY = "django-insecure-kiji-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # Django's admin with Kiji's site: sign-in checks on every admin view (posts/security.py).
    "cms.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "markdownx",
    "reversion",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "posts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside the page cache, so that cached pages get the current policy too.
    "posts.csp.CSPMiddleware",
    # Answers readers from the cache before sessions and authentication run.
    "posts.pagecache.PageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Tells which signed-in users have given their authenticator app's code.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "posts.middleware.RedirectFallbackMiddleware",
    # Turns a locked sign-in's response into the lockout page (posts/security.py).
    "axes.middleware.AxesMiddleware",
    # Last, so that a view the database failed is retried with nothing else run again.
    "posts.faults.DatabaseRetryMiddleware",
]

ROOT_URLCONF = "cms.urls"

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
                "posts.context_processors.site",
            ],
        },
    },
]

WSGI_APPLICATION = "cms.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while one process writes (an import beside gunicorn), and
    # commits, which the importer makes per post, cost no fsync each; IMMEDIATE makes
    # a writer wait for the lock up front instead of failing halfway with "locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        **DATABASES["default"].get("OPTIONS", {}),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def cache_config(url):
    """Django CACHES entry for a redis://, rediss://, locmem:// or dummy:// URL."""
    scheme = url.split("://", 1)[0]
    if scheme in {"redis", "rediss"}:
        # A Redis that stops answering costs a request a quarter of a second, once:
        # then the page cache leaves it alone for a while (posts/pagecache/store.py).
        timeouts = {"socket_connect_timeout": 0.25, "socket_timeout": 0.25, "retry_on_timeout": False}
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "OPTIONS": timeouts}
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if scheme == "dummy":
        return {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    raise ImproperlyConfigured(f"CACHE_URL {url!r}: use redis://, rediss://, locmem:// or dummy://")


CACHES = {
    "default": cache_config(
        os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL") or "locmem://"
    )
}

# Background work (related posts, cover renditions, CDN purges): the database is the
# queue, run by `manage.py db_worker`. TASKS_BACKEND=immediate runs tasks in the
# process that queued them, right after its transaction commits (no worker needed).
TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
TASKS = {
    "default": {
        "BACKEND": TASK_BACKENDS[os.environ.get("TASKS_BACKEND", "database")],
        "QUEUES": ["default"],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": int(os.environ.get("KIJI_PASSWORD_MIN_LENGTH", "12"))},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Signing in (posts/security.py; docs/roles.md, "Signing in"). django-axes counts failed
# passwords in the database, which works with the cache down, for the account and for
# the address apart; either over its limit locks sign-in until those failures are
# KIJI_LOGIN_COOLOFF_MINUTES old.
AUTHENTICATION_BACKENDS = [
    "posts.security.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "posts.security.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = int(os.environ.get("KIJI_LOGIN_FAILURE_LIMIT", "5"))
KIJI_LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("KIJI_LOGIN_ADDRESS_FAILURE_LIMIT", "20"))
AXES_COOLOFF_TIME = int(os.environ.get("KIJI_LOGIN_COOLOFF_MINUTES", "15")) / 60  # hours
# Tries while locked are refused without being counted, so a lock ends when its page says.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "posts.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "posts.security.client_ip"
# Every failure is kept (AccessFailureLog), not only the counts that lock.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# No banner at every start of every command; the log's lines about failures keep
# names and addresses out (the admin has them).
AXES_VERBOSE = False
# Behind this many proxies, each appending to X-Forwarded-For, the client's address is
# the one the outermost proxy saw; with 0 it is REMOTE_ADDR and the header is ignored.
KIJI_TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
# Members of the Admin group and superusers must sign in with an authenticator app.
KIJI_REQUIRE_2FA_FOR_ADMINS = env_bool("KIJI_REQUIRE_2FA_FOR_ADMINS", False)
OTP_TOTP_ISSUER = os.environ.get("TOTP_ISSUER", "Kiji")
# The admin never shows a saved device's secret: whoever saw it could make its codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "ja")
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Tokyo")
USE_I18N = True
USE_TZ = True
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = os.environ.get("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Media on S3-compatible object storage (django-storages), so that every app node reads
# and writes the same files: MEDIA_STORAGE=s3. Pages link the files unsigned, so anyone
# must be able to read the bucket's objects (a public-read bucket policy, or a CDN in
# front, MEDIA_S3_CUSTOM_DOMAIN, allowed to read them). Credentials are boto3's own
# (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the machine's role).
MEDIA_STORAGE = os.environ.get("MEDIA_STORAGE", "filesystem")
if MEDIA_STORAGE == "s3":
    _bucket = os.environ.get("MEDIA_S3_BUCKET", "")
    if not _bucket:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs MEDIA_S3_BUCKET, the name of the bucket.")
    _endpoint = os.environ.get("MEDIA_S3_ENDPOINT_URL", "").rstrip("/")
    _domain = os.environ.get("MEDIA_S3_CUSTOM_DOMAIN", "").strip("/")
    if _domain:
        MEDIA_URL = f"https://{_domain}/"
    elif _endpoint:
        MEDIA_URL = f"{_endpoint}/{_bucket}/"  # S3-compatible servers take the bucket in the path
    else:
        MEDIA_URL = f"https://{_bucket}.s3.amazonaws.com/"
    _media_base = urlsplit(MEDIA_URL)
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _bucket,
            "endpoint_url": _endpoint or None,
            "region_name": os.environ.get("MEDIA_S3_REGION") or None,
            "addressing_style": "path" if _endpoint else None,
            # URLs are MEDIA_URL and the name, put together as text: without a domain
            # of its own, S3Storage would ask botocore to build each one, which costs
            # every worker a client (a second at its first page) and each URL CPU.
            "custom_domain": _media_base.netloc + _media_base.path.rstrip("/"),
            "url_protocol": f"{_media_base.scheme}:",
            # Plain URLs, which a CDN and browsers can keep, rather than signed ones
            # that expire inside stored pages.
            "querystring_auth": False,
            # A name taken gets another, as on the filesystem: nothing stored is ever
            # replaced (renditions.make relies on it when two workers race).
            "file_overwrite": False,
            # So a stored name always holds the same bytes: they may be kept for good.
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        },
    }
elif MEDIA_STORAGE != "filesystem":
    raise ImproperlyConfigured(f"MEDIA_STORAGE {MEDIA_STORAGE!r}: use filesystem (the default) or s3.")

# Uploads: what an editor may drag into a post or set as a cover.
KIJI_MAX_UPLOAD_BYTES = int(os.environ.get("KIJI_MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
KIJI_MAX_IMAGE_PIXELS = int(os.environ.get("KIJI_MAX_IMAGE_PIXELS", 40_000_000))
KIJI_MAX_IMAGE_FRAMES = int(os.environ.get("KIJI_MAX_IMAGE_FRAMES", 200))
# Remote images (posts/fetch.py): seconds per fetch, redirects, private hosts (tests only).
KIJI_FETCH_TIMEOUT = float(os.environ.get("KIJI_FETCH_TIMEOUT", 10))
KIJI_FETCH_MAX_REDIRECTS = int(os.environ.get("KIJI_FETCH_MAX_REDIRECTS", 3))
KIJI_FETCH_ALLOW_PRIVATE = env_bool("KIJI_FETCH_ALLOW_PRIVATE", False)

KIJI_POSTS_PER_PAGE = 10
# Curly quotes, dashes and ellipses as Hugo's goldmark typographer makes them (on in Hugo).
KIJI_TYPOGRAPHER = env_bool("KIJI_TYPOGRAPHER", True)
# Goldmark's CJK eastAsianLineBreaks: a line break between two CJK characters is dropped
# instead of showing as a space; Japanese sites turn it on in Hugo.
KIJI_EAST_ASIAN_LINE_BREAKS = env_bool("KIJI_EAST_ASIAN_LINE_BREAKS", LANGUAGE_CODE.startswith("ja"))
# Worker processes that render bodies and prepare covers during an import.
KIJI_IMPORT_WORKERS = int(os.environ.get("KIJI_IMPORT_WORKERS", os.cpu_count() or 1))
# How long a reader's page may be kept in the cache (0: never). A change replaces the
# pages it affects at once, on every process (posts/pagecache/), so this only bounds
# memory.
KIJI_PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "0" if DEBUG else "86400"))
# Pages each process keeps in its own memory in front of a shared cache (Redis): a hit
# on one of them costs no round trip (0: none).
KIJI_RECENT_PAGES = int(os.environ.get("RECENT_PAGES", "500"))
# How long a process trusts the page versions it read before it looks again.
KIJI_CACHE_VERSION_TRUST = float(os.environ.get("CACHE_VERSION_TRUST", "0.25"))
# HTTP caching of readers' pages: browsers, a CDN (s-maxage), and how long either may
# show a stale page while fetching the new one.
KIJI_BROWSER_MAX_AGE = int(os.environ.get("BROWSER_MAX_AGE", "0" if DEBUG else "60"))
KIJI_CDN_MAX_AGE = int(os.environ.get("CDN_MAX_AGE", "300"))
KIJI_STALE_WHILE_REVALIDATE = int(os.environ.get("STALE_WHILE_REVALIDATE", "60"))
# A function called (on the task queue) with the tags and paths of changed pages.
KIJI_CDN_PURGE_HOOK = os.environ.get("CDN_PURGE_HOOK", "")
# The sitemap protocol's cap on URLs per file; past it /sitemap.xml becomes an index.
KIJI_SITEMAP_LIMIT = 50_000

# The write API (posts/api/, docs/api.md).
KIJI_API_RATE = int(os.environ.get("KIJI_API_RATE", "120"))  # requests a minute per token
KIJI_API_IDEMPOTENCY_HOURS = int(os.environ.get("KIJI_API_IDEMPOTENCY_HOURS", "24"))
KIJI_API_SITE_HOSTS = [host for host in os.environ.get("KIJI_API_SITE_HOSTS", "").split(",") if host]
KIJI_SITE_URL = os.environ.get("KIJI_SITE_URL", "")
KIJI_WEBHOOK_ATTEMPTS = int(os.environ.get("KIJI_WEBHOOK_ATTEMPTS", "6"))
KIJI_WEBHOOK_BACKOFF = int(os.environ.get("KIJI_WEBHOOK_BACKOFF", "30"))
KIJI_WEBHOOK_TIMEOUT = float(os.environ.get("KIJI_WEBHOOK_TIMEOUT", "10"))
KIJI_DIGEST_PUBLISH = env_bool("KIJI_DIGEST_PUBLISH", False)
KIJI_DIGEST_CATEGORY = os.environ.get("KIJI_DIGEST_CATEGORY", "")

# django-markdownx: the preview uses the same renderer as published pages, and
# both endpoints are Kiji's own staff-only views (markdownx's own are open to anyone).
MARKDOWNX_MARKDOWNIFY_FUNCTION = "posts.rendering.preview_html"
MARKDOWNX_URLS_PATH = "/admin/posts/post/markdownify/"
MARKDOWNX_UPLOAD_URLS_PATH = "/admin/posts/post/upload-image/"
MARKDOWNX_MEDIA_PATH = "uploads/"
MARKDOWNX_SERVER_CALL_LATENCY = 400

LOGIN_URL = "admin:login"

# Security. Production (DEBUG off) is HTTPS-only by default; a proxy in front must
# pass X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Joining the browsers' HSTS preload list is a commitment an owner makes on purpose
# (SECURE_HSTS_PRELOAD=1), so `check --deploy` should not nag about it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp, through posts/csp.py, which adds AdSense's hosts
# to pages with ads). Nothing inline runs: every script is a file of ours, and JSON-LD
# is data. Post bodies keep style attributes (product cards), so inline styles are
# allowed there and only there; browsers without style-src-attr (Safari before 15.4,
# Firefox before 108) drop those styles and nothing else.
_media = urlsplit(MEDIA_URL)
_media_origin = f"{_media.scheme}://{_media.netloc}" if _media.scheme else _media.netloc
_csp = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        # MEDIA_URL on another host (a CDN, a bucket) serves covers and uploads;
        # CSP_IMAGE_HOSTS names hosts whose images post bodies show.
        "img-src": ["'self'", "data:", *filter(None, [_media_origin]), *env_list("CSP_IMAGE_HOSTS")],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if os.environ.get("CSP_REPORT_URI"):
    _csp["DIRECTIVES"]["report-uri"] = [os.environ["CSP_REPORT_URI"]]
# CSP_REPORT_ONLY=1 sends the same policy as Content-Security-Policy-Report-Only: it
# blocks nothing and reports what it would have blocked.
if env_bool("CSP_REPORT_ONLY"):
    CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY = None, _csp
else:
    CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp, None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # A line per task run, or three per sign-in (axes), is noise; failures still show.
    "loggers": {
        "django_tasks": {"level": "WARNING"},
        "django_tasks_db": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
