"""Production settings: every secret from the environment with no default; HTTPS only.

``python manage.py check --deploy --settings=config.settings.production`` is clean when
the environment is complete (see ``.env.example``).
"""

from .base import *
from .base import database_settings, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# The production server is gunicorn with threads (config/gunicorn.conf.py): its threads
# share a pool of connections rather than holding one each (docs/install.md, "Deployment").
DATABASES = {"default": database_settings(conn_max_age=60, pool=True)}
# Persistent connections (DATABASE_POOL=false) are checked with a SELECT 1 before each
# request's first query. Django never checks a connection from its pool, so with the
# pool this setting changes nothing.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
CACHES = {"default": env.cache("CACHE_URL", default="redis://127.0.0.1:6379/1")}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The same TLS proxy appends the client's address to X-Forwarded-For: the rate limits
# count each shopper by the address it saw, not the proxy's. Only the proxy may reach the
# app's port; list its addresses to make the header count from nowhere else.
CHECKOUT_TRUSTED_PROXY_COUNT = env.int("CHECKOUT_TRUSTED_PROXY_COUNT", default=1)
CHECKOUT_TRUSTED_PROXIES = env.list("CHECKOUT_TRUSTED_PROXIES", default=[])
# This site keeps the checkout's rendered fragments (form fields, order summary) in Redis
# for a revisit, per attempt and its state; docs/performance.md has the figures.
CHECKOUT_FRAGMENT_CACHE_SECONDS = env.int("CHECKOUT_FRAGMENT_CACHE_SECONDS", default=120)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=587)
EMAIL_HOST_USER = env("DJANGO_EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("DJANGO_EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("DJANGO_EMAIL_USE_TLS", default=True)

CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = False

CHECKOUT_SPECTRA_API_KEY = env("CHECKOUT_SPECTRA_API_KEY")
CHECKOUT_STRIPE_SECRET_KEY = env("CHECKOUT_STRIPE_SECRET_KEY")
CHECKOUT_STRIPE_PUBLISHABLE_KEY = env("CHECKOUT_STRIPE_PUBLISHABLE_KEY")
CHECKOUT_WEBHOOK_SECRET = env("CHECKOUT_WEBHOOK_SECRET")
CHECKOUT_STRIPE_WEBHOOK_SECRET = env("CHECKOUT_STRIPE_WEBHOOK_SECRET", default="")
CHECKOUT_PAYMENT_UI = env("CHECKOUT_PAYMENT_UI", default="") or "payment_element"

# Sessions read from the cache (Redis) and written through to the database, so a page
# view reads no session row from PostgreSQL and an eviction loses nothing.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
