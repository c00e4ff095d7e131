"""Settings of the benchmark stack: production settings, on plain http over loopback.

Everything production has stays (DEBUG off, the production middleware, Redis cache,
manifest static files, secure cookies); only what plain http on 127.0.0.1 forbids is
changed: no SSL redirect and no HSTS. ``bench.run`` sets the environment (database,
Redis, stub URLs); the defaults below only let the module import on its own.
"""

import os

_DEFAULTS = {
    "DJANGO_SECRET_KEY": "bench-not-a-secret-" + "x" * 40,
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/bench",
    "CACHE_URL": "redis://127.0.0.1:6379/15",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
    "CHECKOUT_SPECTRA_API_KEY": "spk_test_bench",
    "CHECKOUT_STRIPE_SECRET_KEY": "sk_test_bench",
    "CHECKOUT_STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
    "CHECKOUT_WEBHOOK_SECRET": "whsec_bench",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_SECURE_HSTS_SECONDS": "0",
    # The regression guards' stack (sync workers, persistent connections) stays as it was
    # measured; the production server's own targets (bench/targets/latency.py) pool.
    "DATABASE_POOL": "false",
    # ...and, like production's pooled connections (which Django never health-checks),
    # sends no SELECT 1 before each request's first query (docs/performance.md).
    "CONN_HEALTH_CHECKS": "false",
}
for _name, _value in _DEFAULTS.items():
    os.environ.setdefault(_name, _value)

from config.settings.production import *  # noqa: E402, F403
from config.settings.production import MIDDLEWARE, env  # noqa: E402

ROOT_URLCONF = "bench.urls"
# Counts queries only for requests that ask (X-Bench-Count-Queries); a header lookup otherwise.
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]
STATIC_ROOT = env("BENCH_STATIC_ROOT", default=str(STATIC_ROOT))  # noqa: F405
EMAIL_BACKEND = "bench.mail.RedisRecordingBackend"
BENCH_EMAIL_LOG_KEY = env("BENCH_EMAIL_LOG_KEY", default="bench:emails")
CHECKOUT_SITE_URL = "http://127.0.0.1"
# The stub and localstripe stand in for Stripe, and speak the Card Element's flow (a
# PaymentMethod id posted to pay); production's Payment Element needs Stripe itself
# (checkout.E061 refuses it with another Stripe API base).
CHECKOUT_PAYMENT_UI = "card_element"
LOGGING["root"]["level"] = env("DJANGO_LOG_LEVEL", default="WARNING")  # noqa: F405
# The limiter stays on (its cache round trips are part of what we measure), with limits no
# benchmark reaches: every request comes from 127.0.0.1, and pay alone is sent ~1,000
# times a round, far over production's "30/h ip".
CHECKOUT_RATE_LIMITS = dict.fromkeys(
    ("promo", "gift_card", "pay", "place", "order_lookup"),
    ("1000000/10m session", "1000000/10m ip"),
)
# The stub's orders are test orders; send their emails as a live shop sends a live
# order's, so placing an order measures the confirmation email's ledger and outbox rows.
CHECKOUT_SEND_TEST_ORDER_EMAILS = True
