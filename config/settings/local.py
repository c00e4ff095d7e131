"""The demo's zero-setup settings: SQLite, console email, eager Celery unless a broker is set.

``make demo`` points the Spectra and Stripe settings at the local sandbox and localstripe.
"""

from .base import *
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="demo-only-not-secret-" + "x" * 40)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = env("DJANGO_EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "emails"))

CHECKOUT_SPECTRA_API_BASE = env("CHECKOUT_SPECTRA_API_BASE", default="http://127.0.0.1:8765/api/v1")
CHECKOUT_SPECTRA_COMMERCE_BASE = env(
    "CHECKOUT_SPECTRA_COMMERCE_BASE", default="http://127.0.0.1:8765/commerce-api/v1"
)
CHECKOUT_SPECTRA_API_KEY = env("CHECKOUT_SPECTRA_API_KEY", default="spk_test_sandbox")
CHECKOUT_STRIPE_API_BASE = env("CHECKOUT_STRIPE_API_BASE", default="http://127.0.0.1:8420")
CHECKOUT_STRIPE_SECRET_KEY = env("CHECKOUT_STRIPE_SECRET_KEY", default="sk_test_localstripe")
CHECKOUT_STRIPE_PUBLISHABLE_KEY = env(
    "CHECKOUT_STRIPE_PUBLISHABLE_KEY", default="pk_test_localstripe"
)
CHECKOUT_STRIPE_JS_URL = env(
    "CHECKOUT_STRIPE_JS_URL", default="http://127.0.0.1:8420/js.stripe.com/v3/"
)
# localstripe runs only the Card Element (docs/install.md, "Payment methods").
CHECKOUT_PAYMENT_UI = env("CHECKOUT_PAYMENT_UI", default="") or "card_element"
CHECKOUT_WEBHOOK_SECRET = env("CHECKOUT_WEBHOOK_SECRET", default="")
