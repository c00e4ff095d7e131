"""The app's settings: every ``CHECKOUT_*`` setting, its type and its default.

Settings are read at call time (never at import time) so tests can override them
with ``override_settings`` and a host project can set them after importing us.
Use ``from checkout.conf import app_settings`` and read attributes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

PREFIX = "CHECKOUT_"

SPECTRA_PRODUCTION_API_BASE = "https://api.spectradiag.com/api/v1"
SPECTRA_PRODUCTION_COMMERCE_BASE = "https://api.spectradiag.com/commerce-api/v1"

DEFAULT_EMAIL_KINDS = ("confirmation", "shipped", "delivered", "cancelled", "refunded")

# name -> default. The single source of truth for names and defaults; docs/install.md
# lists the same table for merchants.
DEFAULTS: dict[str, Any] = {
    # Spectra API
    "SPECTRA_API_BASE": SPECTRA_PRODUCTION_API_BASE,
    "SPECTRA_COMMERCE_BASE": SPECTRA_PRODUCTION_COMMERCE_BASE,
    "SPECTRA_API_KEY": "",
    "SPECTRA_CONNECT_TIMEOUT": 3.05,
    "SPECTRA_READ_TIMEOUT": 10.0,
    # POST /orders makes Spectra talk to Stripe; give it longer before calling the
    # outcome unknown.
    "SPECTRA_ORDER_TIMEOUT": 30.0,
    "SPECTRA_PAGE_SIZE": 25,
    "SPECTRA_MAX_RETRIES": 3,
    "SPECTRA_BACKOFF_BASE": 0.5,
    "SPECTRA_BACKOFF_MAX": 8.0,
    "CATALOG_CACHE_TTL": 300,
    # Stripe
    "STRIPE_SECRET_KEY": "",
    "STRIPE_PUBLISHABLE_KEY": "",
    # None means Stripe itself; set to a localstripe URL in development and tests.
    "STRIPE_API_BASE": None,
    "STRIPE_JS_URL": "https://js.stripe.com/v3/",
    "STRIPE_WEBHOOK_SECRET": "",
    # The payment step's form: "payment_element" (Stripe's Payment Element: cards, Link,
    # Apple Pay and Google Pay, confirmed on the server with a ConfirmationToken) or
    # "card_element" (the legacy Card Element, the only one localstripe can run: the
    # offline demo and tests).
    "PAYMENT_UI": "payment_element",
    # The Payment Element's payment method types, asked for in the browser and on the
    # server alike (Apple Pay and Google Pay come with "card").
    "PAYMENT_METHOD_TYPES": ("card", "link"),
    # Webhooks from Spectra
    "WEBHOOK_SECRET": "",
    "WEBHOOK_MAX_BODY_BYTES": 256 * 1024,
    "ADOPT_UNKNOWN_ORDERS": False,
    # Shopper-facing
    # The shop's name in page titles; empty: the Sites framework's name when
    # django.contrib.sites is installed, else "Shop".
    "SHOP_NAME": "",
    # Where "Continue shopping" goes: a path, an absolute URL or a URL name.
    "CONTINUE_SHOPPING_URL": "/",
    # The sandbox, like the Spectra tenant it stands for, ships to US addresses only.
    "SHIPPING_COUNTRIES": ("US",),
    "STATUS_TOKEN_MAX_AGE": 60 * 60 * 24 * 180,
    # Customer accounts: link a guest's order to the account whose email is the order's
    # (as the site keeps it on the user; only safe if the site confirms addresses).
    "LINK_GUEST_ORDERS_BY_EMAIL": False,
    # Emails
    "EMAIL_KINDS": DEFAULT_EMAIL_KINDS,
    "EMAIL_FROM": None,
    "EMAIL_REPLY_TO": (),
    "SEND_TEST_ORDER_EMAILS": False,
    "TRACKING_URLS": {
        "UPS": "https://www.ups.com/track?tracknum={number}",
        "FedEx": "https://www.fedex.com/fedextrack/?trknbr={number}",
        "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    },
    # Recovery
    "ATTEMPT_RELEASE_AFTER": 60 * 60,
    "RECONCILE_BATCH_SIZE": 200,
    # Who captures the card hold once the order exists: "api" (Spectra, as our sandbox
    # does) or "app" (we capture ``amount_charged``). Either way the app verifies the
    # PaymentIntent after placement and captures a hold the API left standing.
    "CAPTURE_BY": "api",
    # Seconds a checkout whose POST /orders outcome is unknown may wait for proof (the
    # order list or the order.created webhook) before it is handed to staff.
    "UNKNOWN_OUTCOME_WINDOW": 30 * 60,
    # Pages of GET /orders (newest first, 100 a page) one lookup may read.
    "ORDER_LOOKUP_MAX_PAGES": 3,
    # The share of the key's hourly limit background work (reconciliation, sweeps) may
    # spend; shoppers' calls keep the rest. The limit is the key's tier (Standard:
    # 1,000/hour), so the default budget is 200 calls an hour.
    "SPECTRA_HOURLY_LIMIT": 1000,
    "BACKGROUND_CALL_SHARE": 0.2,
    # Seconds after which an order in a final state (delivered, cancelled, refunded) is
    # no longer polled.
    "STOP_POLLING_FINAL_AFTER": 14 * 24 * 60 * 60,
    # Who emails customers about each kind: "app" (this app's templates) or "spectra"
    # (Spectra's own customer emails, sent for live orders). A kind Spectra sends is
    # recorded as suppressed here, so a live customer gets each email once.
    "EMAIL_SENDER": {
        "confirmation": "app",
        "shipped": "app",
        "delivered": "app",
        "cancelled": "app",
        "refunded": "app",
    },
    # Whether the Spectra tenant sends its own customer emails for live orders (the docs
    # say it does; switch them off in Spectra's dashboard, then set this to False).
    "SPECTRA_SENDS_CUSTOMER_EMAILS": True,
    # Emails: absolute base for links in emails, e.g.
    # "https://shop.example.com"; seconds a claimed email send may take before the sweep
    # retries it (keep it above CELERY_TASK_TIME_LIMIT).
    "SITE_URL": "",
    "EMAIL_SEND_LEASE": 300,
    # Abuse limits per scope (checkout/ratelimit.py):
    # rules "<count>/<period> <session|ip>", period like 30s, 10m, h, d; every rule of
    # a scope must allow a hit; an empty tuple switches a scope off. Per-session rules are
    # the first line; per-address rules are sized for a crowd behind one NAT (the
    # reasoning is in checkout/ratelimit.py's docstring).
    "RATE_LIMITS": {
        "promo": ("10/10m session", "200/10m ip", "1000/d ip"),
        "gift_card": ("10/10m session", "100/10m ip", "300/d ip"),
        "pay": ("8/10m session", "200/10m ip", "1000/d ip"),
        "place": ("30/10m session", "600/10m ip"),
        # The guest order lookup, which may send an email: a few tries per visitor.
        "order_lookup": ("5/10m session", "20/h ip"),
    },
    # Reverse proxies in front of the site that append to X-Forwarded-For (0: use
    # REMOTE_ADDR only, never the header).
    "TRUSTED_PROXY_COUNT": 0,
    # Seconds to keep rendered fragments of the checkout's pages (form fields, order
    # summary, order-status details) in the cache; 0 (the default) keeps none. A fragment
    # is keyed by the attempt (or order) it shows and its state, and never holds a CSRF
    # token, a message or anything of the site's own layout.
    "FRAGMENT_CACHE_SECONDS": 0,
    # Addresses or networks of those proxies ("10.0.0.0/8", "127.0.0.1"). When set,
    # X-Forwarded-For is believed only from them: a client that reaches the app directly
    # cannot pick its own address by sending the header.
    "TRUSTED_PROXIES": (),
    # Extra img-src origins for the Content-Security-Policy (checkout/csp.py); the
    # Spectra API's own origin (product images) is always allowed.
    "CSP_IMG_SOURCES": (),
    # Personal data (checkout/services/retention.py, ``checkout_purge``): days after which
    # an abandoned attempt (no order) is deleted, or stripped of the shopper's details when
    # a payment was tried on it; a handled webhook's raw body and headers are blanked; a
    # published outbox row is deleted. None keeps them for good.
    "RETENTION_ATTEMPT_DAYS": 30,
    "RETENTION_WEBHOOK_BODY_DAYS": 30,
    "RETENTION_OUTBOX_DAYS": 7,
}


class AppSettings:
    """Typed, lazy access to ``CHECKOUT_*`` settings."""

    def get(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown checkout setting {PREFIX}{name}")
        return getattr(settings, PREFIX + name, DEFAULTS[name])

    # --- Spectra -------------------------------------------------------------
    @property
    def SPECTRA_API_BASE(self) -> str:
        return str(self.get("SPECTRA_API_BASE")).rstrip("/")

    @property
    def SPECTRA_COMMERCE_BASE(self) -> str:
        return str(self.get("SPECTRA_COMMERCE_BASE")).rstrip("/")

    @property
    def SPECTRA_API_KEY(self) -> str:
        return str(self.get("SPECTRA_API_KEY") or "")

    @property
    def SPECTRA_CONNECT_TIMEOUT(self) -> float:
        return float(self.get("SPECTRA_CONNECT_TIMEOUT"))

    @property
    def SPECTRA_READ_TIMEOUT(self) -> float:
        return float(self.get("SPECTRA_READ_TIMEOUT"))

    @property
    def SPECTRA_ORDER_TIMEOUT(self) -> float:
        return float(self.get("SPECTRA_ORDER_TIMEOUT"))

    @property
    def SPECTRA_PAGE_SIZE(self) -> int:
        return int(self.get("SPECTRA_PAGE_SIZE"))

    @property
    def SPECTRA_MAX_RETRIES(self) -> int:
        return int(self.get("SPECTRA_MAX_RETRIES"))

    @property
    def SPECTRA_BACKOFF_BASE(self) -> float:
        return float(self.get("SPECTRA_BACKOFF_BASE"))

    @property
    def SPECTRA_BACKOFF_MAX(self) -> float:
        return float(self.get("SPECTRA_BACKOFF_MAX"))

    @property
    def CATALOG_CACHE_TTL(self) -> int:
        return int(self.get("CATALOG_CACHE_TTL"))

    # --- Stripe --------------------------------------------------------------
    @property
    def STRIPE_SECRET_KEY(self) -> str:
        return str(self.get("STRIPE_SECRET_KEY") or "")

    @property
    def STRIPE_PUBLISHABLE_KEY(self) -> str:
        return str(self.get("STRIPE_PUBLISHABLE_KEY") or "")

    @property
    def STRIPE_API_BASE(self) -> str | None:
        value = self.get("STRIPE_API_BASE")
        return str(value).rstrip("/") if value else None

    @property
    def STRIPE_JS_URL(self) -> str:
        return str(self.get("STRIPE_JS_URL"))

    @property
    def STRIPE_WEBHOOK_SECRET(self) -> str:
        return str(self.get("STRIPE_WEBHOOK_SECRET") or "")

    @property
    def PAYMENT_UI(self) -> str:
        return str(self.get("PAYMENT_UI") or "").strip().lower()

    @property
    def PAYMENT_METHOD_TYPES(self) -> tuple[str, ...]:
        value = self.get("PAYMENT_METHOD_TYPES") or ()
        return (value,) if isinstance(value, str) else tuple(str(v) for v in value)

    # --- Webhooks --------------------------------------------------------------
    @property
    def WEBHOOK_SECRET(self) -> str:
        return str(self.get("WEBHOOK_SECRET") or "")

    @property
    def WEBHOOK_MAX_BODY_BYTES(self) -> int:
        return int(self.get("WEBHOOK_MAX_BODY_BYTES"))

    @property
    def ADOPT_UNKNOWN_ORDERS(self) -> bool:
        return bool(self.get("ADOPT_UNKNOWN_ORDERS"))

    # --- Shopper-facing ------------------------------------------------------
    @property
    def SHOP_NAME(self) -> str:
        return str(self.get("SHOP_NAME") or "")

    @property
    def CONTINUE_SHOPPING_URL(self) -> str:
        return str(self.get("CONTINUE_SHOPPING_URL") or "/")

    @property
    def SHIPPING_COUNTRIES(self) -> tuple[str, ...]:
        return tuple(str(c).upper() for c in self.get("SHIPPING_COUNTRIES"))

    @property
    def STATUS_TOKEN_MAX_AGE(self) -> int:
        return int(self.get("STATUS_TOKEN_MAX_AGE"))

    @property
    def LINK_GUEST_ORDERS_BY_EMAIL(self) -> bool:
        return bool(self.get("LINK_GUEST_ORDERS_BY_EMAIL"))

    # --- Emails ----------------------------------------------------------------
    @property
    def EMAIL_KINDS(self) -> tuple[str, ...]:
        return tuple(self.get("EMAIL_KINDS"))

    @property
    def EMAIL_FROM(self) -> str:
        return str(self.get("EMAIL_FROM") or settings.DEFAULT_FROM_EMAIL)

    @property
    def EMAIL_REPLY_TO(self) -> tuple[str, ...]:
        value = self.get("EMAIL_REPLY_TO")
        if isinstance(value, str):
            return (value,) if value else ()
        return tuple(value)

    @property
    def SEND_TEST_ORDER_EMAILS(self) -> bool:
        return bool(self.get("SEND_TEST_ORDER_EMAILS"))

    @property
    def TRACKING_URLS(self) -> dict[str, str]:
        return dict(self.get("TRACKING_URLS"))

    @property
    def SITE_URL(self) -> str:
        return str(self.get("SITE_URL") or "").rstrip("/")

    @property
    def EMAIL_SEND_LEASE(self) -> int:
        return int(self.get("EMAIL_SEND_LEASE"))

    # --- Recovery --------------------------------------------------------------
    @property
    def ATTEMPT_RELEASE_AFTER(self) -> int:
        return int(self.get("ATTEMPT_RELEASE_AFTER"))

    @property
    def RECONCILE_BATCH_SIZE(self) -> int:
        return int(self.get("RECONCILE_BATCH_SIZE"))

    @property
    def CAPTURE_BY(self) -> str:
        return str(self.get("CAPTURE_BY") or "api").lower()

    @property
    def UNKNOWN_OUTCOME_WINDOW(self) -> int:
        return int(self.get("UNKNOWN_OUTCOME_WINDOW"))

    @property
    def ORDER_LOOKUP_MAX_PAGES(self) -> int:
        return max(1, int(self.get("ORDER_LOOKUP_MAX_PAGES")))

    @property
    def SPECTRA_HOURLY_LIMIT(self) -> int | None:
        value = self.get("SPECTRA_HOURLY_LIMIT")
        return None if value in (None, 0, "") else int(value)

    @property
    def BACKGROUND_CALL_SHARE(self) -> float:
        return min(1.0, max(0.0, float(self.get("BACKGROUND_CALL_SHARE"))))

    @property
    def STOP_POLLING_FINAL_AFTER(self) -> int:
        return max(0, int(self.get("STOP_POLLING_FINAL_AFTER")))

    @property
    def SPECTRA_SENDS_CUSTOMER_EMAILS(self) -> bool:
        return bool(self.get("SPECTRA_SENDS_CUSTOMER_EMAILS"))

    @property
    def EMAIL_SENDER(self) -> dict[str, str]:
        value = {**DEFAULTS["EMAIL_SENDER"], **dict(self.get("EMAIL_SENDER") or {})}
        return {str(kind): str(sender).lower() for kind, sender in value.items()}

    # --- Abuse and browser security -----------------------------------------------------
    @property
    def RATE_LIMITS(self) -> dict[str, tuple[str, ...]]:
        # A scope the site's setting does not name keeps its default rules, so a new scope
        # in an upgrade never leaves a view unlimited nor stops the site (checkout.W022).
        value = {**DEFAULTS["RATE_LIMITS"], **dict(self.get("RATE_LIMITS") or {})}
        return {
            str(scope): ((rules,) if isinstance(rules, str) else tuple(rules or ()))
            for scope, rules in value.items()
        }

    @property
    def TRUSTED_PROXY_COUNT(self) -> int:
        return max(0, int(self.get("TRUSTED_PROXY_COUNT") or 0))

    @property
    def FRAGMENT_CACHE_SECONDS(self) -> int:
        return max(0, int(self.get("FRAGMENT_CACHE_SECONDS") or 0))

    @property
    def TRUSTED_PROXIES(self) -> tuple[str, ...]:
        value = self.get("TRUSTED_PROXIES") or ()
        return (value,) if isinstance(value, str) else tuple(str(v) for v in value)

    @property
    def CSP_IMG_SOURCES(self) -> tuple[str, ...]:
        value = self.get("CSP_IMG_SOURCES") or ()
        return (value,) if isinstance(value, str) else tuple(str(v) for v in value)

    # --- Personal data ------------------------------------------------------------------
    def retention_days(self, name: str) -> int | None:
        """Return ``RETENTION_<name>_DAYS`` (None: keep for good); checked by checkout.E050."""
        value = self.get(f"RETENTION_{name}_DAYS")
        return None if value is None else int(value)


def money(value: Any) -> Decimal:
    """Return ``value`` as a two-place ``Decimal`` (the API sends JSON numbers)."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


app_settings = AppSettings()
