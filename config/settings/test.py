"""Settings for the test suite: PostgreSQL when ``DATABASE_URL`` is set (CI), fast hashing.

The Spectra and Stripe URLs are set per test by the fixtures in ``checkout.testing``.
"""

from .base import *
from .base import env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY", default="test-only-not-secret-" + "x" * 40)
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

CHECKOUT_SPECTRA_API_BASE = "http://spectra.test/api/v1"
CHECKOUT_SPECTRA_COMMERCE_BASE = "http://spectra.test/commerce-api/v1"
CHECKOUT_SPECTRA_API_KEY = "spk_test_unit"
CHECKOUT_STRIPE_SECRET_KEY = "sk_test_unit"
CHECKOUT_STRIPE_PUBLISHABLE_KEY = "pk_test_unit"
CHECKOUT_STRIPE_API_BASE = "http://stripe.test"
CHECKOUT_WEBHOOK_SECRET = "whsec_unit_test_secret"
CHECKOUT_STRIPE_WEBHOOK_SECRET = "whsec_stripe_unit_test_secret"
CHECKOUT_SPECTRA_BACKOFF_BASE = 0.0
# The default sandbox keys have no rate limit, and one test process reconciles far more
# than an hour's background budget: tests of the budget set a limit themselves.
CHECKOUT_SPECTRA_HOURLY_LIMIT = None
CHECKOUT_SPECTRA_BACKOFF_MAX = 0.0

CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="memory://")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default="cache+memory://")
