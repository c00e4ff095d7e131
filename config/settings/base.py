"""Settings shared by every environment; each value comes from the environment.

Environment-specific modules (``local``, ``test``, ``production``) import this and
override. ``.env.example`` lists every variable.
"""

from pathlib import Path
from typing import Any

import django
import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
# The languages the checkout ships catalogs for (checkout/locale); LocaleMiddleware picks
# one from the shopper's choice (the switcher's cookie) or their browser's Accept-Language.
LANGUAGES = [("en", _("English")), ("de", _("German")), ("fr", _("French"))]
# The demo's own strings (templates/): `make messages` updates both catalogs.
LOCALE_PATHS = [BASE_DIR / "locale"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_countries",  # country names in the shopper's language
    "checkout",
]

# The site's Content-Security-Policy: its own origin only, and no framing. The checkout's
# views add what their pages load (Stripe.js, product images) to it: checkout/csp.py.
site_policy = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "frame-src": ["'none'"],
    "connect-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "style-src": ["'self'"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
if django.VERSION >= (6, 0):
    csp_middleware = "django.middleware.csp.ContentSecurityPolicyMiddleware"
    SECURE_CSP = site_policy
else:
    csp_middleware = "csp.middleware.CSPMiddleware"  # django-csp
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": site_policy}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    csp_middleware,
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
# Customers sign in with django.contrib.auth's views (config/urls.py, accounts/).
LOGIN_REDIRECT_URL = "checkout:customer-orders"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]


def database_settings(
    *, default_url: Any = environ.Env.NOTSET, conn_max_age: int, pool: bool = False
) -> dict[str, Any]:
    """Return the default database's settings from ``DATABASE_URL`` and its companions.

    On PostgreSQL, parameters are bound on the server and a statement run twice on a
    connection is prepared once (``DATABASE_PREPARE_THRESHOLD=0`` turns that off, as
    PgBouncer in transaction mode before 1.21 needs). With ``DATABASE_POOL`` (default
    ``pool``), Django's psycopg connection pool (``psycopg-pool``), one per process, of
    ``DATABASE_POOL_MIN_SIZE`` to ``DATABASE_POOL_MAX_SIZE`` connections; a thread waits at
    most ``DATABASE_POOL_TIMEOUT`` seconds for one. A pooled connection goes back to the
    pool after each request, so it cannot be combined with persistent connections and
    ``CONN_MAX_AGE`` defaults to 0 then (Django refuses any other value). Sizing:
    docs/install.md, "Deployment".
    """
    database = env.db("DATABASE_URL", default=default_url)
    database["ATOMIC_REQUESTS"] = False
    postgres = database["ENGINE"] == "django.db.backends.postgresql"
    pool = postgres and env.bool("DATABASE_POOL", default=pool)
    database["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if pool else conn_max_age)
    if postgres:
        threshold = env.int("DATABASE_PREPARE_THRESHOLD", default=2)
        options = database.setdefault("OPTIONS", {})
        options.update(server_side_binding=True, prepare_threshold=threshold or None)
        if pool:
            options["pool"] = {
                "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
                "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=16),
                "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
            }
    return database


DATABASES = {
    "default": database_settings(default_url=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=0)
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://")
    if env("CACHE_URL", default="")
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# No CSRF_FAILURE_VIEW: the checkout's views answer a CSRF failure with their own page
# (checkout/csrf.py), and the site's other views with Django's.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"

EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="Spectra Shop <orders@example.com>")

# Celery: at-least-once delivery with idempotent tasks (see checkout/tasks.py).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_RESULT_EXPIRES = 3600
# Longer than the longest task, so a slow task is not redelivered while it runs.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Left off on purpose: with it on, a broker restart can kill the worker's main process
# (celery#7185, #9250). Late acks redeliver an interrupted task; tasks are idempotent.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Nothing reads task results: tasks record their outcome in the database.
CELERY_TASK_IGNORE_RESULT = True
# Celery's Django fixup closes the database connection around every task unless this is
# set; it then closes it every this many tasks, and config.celery_app closes a failed or
# expired one (CONN_MAX_AGE) around each task, as Django does around requests.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)

# --- The checkout app -------------------------------------------------------------------
CHECKOUT_SPECTRA_API_BASE = env(
    "CHECKOUT_SPECTRA_API_BASE", default="https://api.spectradiag.com/api/v1"
)
CHECKOUT_SPECTRA_COMMERCE_BASE = env(
    "CHECKOUT_SPECTRA_COMMERCE_BASE", default="https://api.spectradiag.com/commerce-api/v1"
)
CHECKOUT_SPECTRA_API_KEY = env("CHECKOUT_SPECTRA_API_KEY", default="")
CHECKOUT_STRIPE_SECRET_KEY = env("CHECKOUT_STRIPE_SECRET_KEY", default="")
CHECKOUT_STRIPE_PUBLISHABLE_KEY = env("CHECKOUT_STRIPE_PUBLISHABLE_KEY", default="")
CHECKOUT_STRIPE_API_BASE = env("CHECKOUT_STRIPE_API_BASE", default="") or None
CHECKOUT_STRIPE_JS_URL = env("CHECKOUT_STRIPE_JS_URL", default="https://js.stripe.com/v3/")
CHECKOUT_STRIPE_WEBHOOK_SECRET = env("CHECKOUT_STRIPE_WEBHOOK_SECRET", default="")
# Stripe's Payment Element against Stripe; the Card Element against localstripe (the
# only one it can run), so the offline demo works with no setting of its own.
CHECKOUT_PAYMENT_UI = env("CHECKOUT_PAYMENT_UI", default="") or (
    "card_element" if CHECKOUT_STRIPE_API_BASE else "payment_element"
)
CHECKOUT_WEBHOOK_SECRET = env("CHECKOUT_WEBHOOK_SECRET", default="")
# Absolute base of links in emails (the order-status link), e.g. https://shop.example.com
CHECKOUT_SITE_URL = env("CHECKOUT_SITE_URL", default="")
CHECKOUT_SEND_TEST_ORDER_EMAILS = env.bool("CHECKOUT_SEND_TEST_ORDER_EMAILS", default=False)
CHECKOUT_SHOP_NAME = env("CHECKOUT_SHOP_NAME", default="Spectra Shop")

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
