"""System checks for the app's settings, with stable ids (``checkout.E0xx`` / ``W0xx``).

Errors stop ``runserver``/``migrate``; warnings are shown. Checks tagged ``deploy`` run
only with ``manage.py check --deploy``. Messages never include a secret's value.

Missing keys (``E001``, ``E004``, ``E005``) are deploy checks: a host project must be able
to ``migrate``, ``runserver`` and run its own tests before it has keys. A checkout page
used without them answers with a clear "not set up" page and an error in the log
(``checkout.views.common.checkout_configured``). A key that is set but malformed is
always an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from checkout.conf import PREFIX, app_settings

SPECTRA_KEY_PREFIXES = ("spk_test_", "spk_live_")
STRIPE_SECRET_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_")
STRIPE_PUBLISHABLE_PREFIXES = ("pk_test_", "pk_live_")


def _is_live_stripe(key: str) -> bool:
    return "_live_" in key[:8]


@register(Tags.compatibility)
def check_spectra_settings(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Check the Spectra API key and base URLs."""
    messages: list[CheckMessage] = []
    key = app_settings.SPECTRA_API_KEY
    # A missing key is checkout.E001, a deploy check (check_required_keys).
    if key and not key.startswith(SPECTRA_KEY_PREFIXES):
        messages.append(
            Error(
                "CHECKOUT_SPECTRA_API_KEY does not look like a Spectra key.",
                hint="Spectra keys start with 'spk_test_' or 'spk_live_'.",
                id="checkout.E002",
            )
        )
    elif key.startswith("spk_live_") and settings.DEBUG:
        messages.append(
            Warning(
                "A live Spectra key is configured while DEBUG is on.",
                hint="Use a spk_test_ key in development; live keys place real orders.",
                id="checkout.W001",
            )
        )
    for name in ("SPECTRA_API_BASE", "SPECTRA_COMMERCE_BASE"):
        value = app_settings.get(name)
        parts = urlsplit(str(value))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            messages.append(
                Error(
                    f"CHECKOUT_{name} is not an absolute http(s) URL.",
                    hint="For example https://api.spectradiag.com/api/v1.",
                    id="checkout.E003",
                )
            )
    return messages


@register(Tags.compatibility)
def check_stripe_settings(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Check the Stripe keys are present, well-formed and of the same mode."""
    messages: list[CheckMessage] = []
    secret = app_settings.STRIPE_SECRET_KEY
    publishable = app_settings.STRIPE_PUBLISHABLE_KEY
    if secret and not secret.startswith(STRIPE_SECRET_PREFIXES):
        messages.append(
            Error(
                "CHECKOUT_STRIPE_SECRET_KEY does not look like a Stripe secret key.",
                hint="Stripe secret keys start with 'sk_' or 'rk_' (restricted keys).",
                id="checkout.E006",
            )
        )
    if publishable and not publishable.startswith(STRIPE_PUBLISHABLE_PREFIXES):
        messages.append(
            Error(
                "CHECKOUT_STRIPE_PUBLISHABLE_KEY does not look like a Stripe publishable key.",
                hint="Stripe publishable keys start with 'pk_test_' or 'pk_live_'.",
                id="checkout.E007",
            )
        )
    if (
        secret.startswith(STRIPE_SECRET_PREFIXES)
        and publishable.startswith(STRIPE_PUBLISHABLE_PREFIXES)
        and _is_live_stripe(secret) != _is_live_stripe(publishable)
    ):
        messages.append(
            Error(
                "The Stripe secret and publishable keys are of different modes (test/live).",
                hint="Use both test keys or both live keys.",
                id="checkout.E008",
            )
        )
    spectra_key = app_settings.SPECTRA_API_KEY
    if (
        secret.startswith(STRIPE_SECRET_PREFIXES)
        and spectra_key.startswith(SPECTRA_KEY_PREFIXES)
        and spectra_key.startswith("spk_live_") != _is_live_stripe(secret)
    ):
        messages.append(
            Warning(
                "The Spectra key and the Stripe key are of different modes (test/live).",
                hint="A spk_test_ key uses the tenant's Stripe test credentials: pair it "
                "with Stripe test keys, and a spk_live_ key with live ones.",
                id="checkout.W002",
            )
        )
    return messages


PAYMENT_UIS = ("payment_element", "card_element")
STRIPE_API_ORIGIN = "https://api.stripe.com"


@register(Tags.compatibility)
def check_payment_ui(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Check the payment step's form can run against the configured Stripe."""
    ui = app_settings.PAYMENT_UI
    if ui not in PAYMENT_UIS:
        return [
            Error(
                f"CHECKOUT_PAYMENT_UI is {ui!r}.",
                hint="Use 'payment_element' (Stripe) or 'card_element' (localstripe).",
                id="checkout.E060",
            )
        ]
    messages: list[CheckMessage] = []
    base = app_settings.STRIPE_API_BASE
    if ui == "payment_element" and base and base != STRIPE_API_ORIGIN:
        messages.append(
            Error(
                "CHECKOUT_PAYMENT_UI is 'payment_element' but CHECKOUT_STRIPE_API_BASE points "
                "at another Stripe (localstripe?), which cannot run the Payment Element.",
                hint="Set CHECKOUT_PAYMENT_UI = 'card_element' with localstripe, or unset "
                "CHECKOUT_STRIPE_API_BASE to use Stripe.",
                id="checkout.E061",
            )
        )
    if ui == "payment_element" and not app_settings.PAYMENT_METHOD_TYPES:
        messages.append(
            Error(
                "CHECKOUT_PAYMENT_METHOD_TYPES is empty.",
                hint="List the Payment Element's types, e.g. ('card', 'link').",
                id="checkout.E062",
            )
        )
    return messages


RATE_LIMIT_SCOPES = ("promo", "gift_card", "pay", "place", "order_lookup")
RETENTION_SETTINGS = ("ATTEMPT", "WEBHOOK_BODY", "OUTBOX")


def _proxy_messages() -> list[CheckMessage]:
    """The site says it is behind a proxy, but the rate limiter is not told (or is wrong)."""
    from checkout.ratelimit import trusted_proxy_networks

    messages: list[CheckMessage] = []
    try:
        trusted_proxy_networks()
    except ValueError as err:
        messages.append(
            Error(
                f"CHECKOUT_TRUSTED_PROXIES has an invalid entry: {err}",
                hint='List addresses or networks, e.g. ["10.0.0.0/8", "127.0.0.1"].',
                id="checkout.E024",
            )
        )
    behind_proxy = bool(getattr(settings, "SECURE_PROXY_SSL_HEADER", None))
    if behind_proxy and app_settings.TRUSTED_PROXY_COUNT == 0:
        messages.append(
            Warning(
                "SECURE_PROXY_SSL_HEADER says a proxy is in front of the site, but "
                "CHECKOUT_TRUSTED_PROXY_COUNT is 0: every shopper would share the proxy's "
                "address in the rate limits, and one abuser could block them all.",
                hint="Set CHECKOUT_TRUSTED_PROXY_COUNT to the number of proxies that append "
                "to X-Forwarded-For (and CHECKOUT_TRUSTED_PROXIES to their addresses).",
                id="checkout.W030",
            )
        )
    messages.extend(_proxy_sighting_messages())
    return messages


def _proxy_sighting_messages() -> list[CheckMessage]:
    """What the rate limiter saw on requests since (noted in the cache, checkout/proxies.py)."""
    from checkout.proxies import FORWARDED_UNTRUSTED, proxy_sightings

    messages: list[CheckMessage] = []
    for sighting in proxy_sightings():
        when = sighting.at.isoformat(timespec="seconds")
        if sighting.kind == FORWARDED_UNTRUSTED:
            messages.append(
                Warning(
                    "Requests arrive with X-Forwarded-For, but no proxy is trusted: every "
                    f"shopper behind the proxy shares one rate limit (last seen {when}, from "
                    f"{sighting.peer or 'an unknown address'}).",
                    hint="Set CHECKOUT_TRUSTED_PROXY_COUNT to the number of proxies that "
                    "append to X-Forwarded-For, and CHECKOUT_TRUSTED_PROXIES to their "
                    "addresses or networks.",
                    id="checkout.W031",
                )
            )
        else:
            messages.append(
                Warning(
                    f"Requests with X-Forwarded-For arrive from {sighting.peer}, which is not "
                    "in CHECKOUT_TRUSTED_PROXIES: their header is ignored, so if that is your "
                    f"proxy, every shopper behind it shares one rate limit (last seen {when}).",
                    hint="Add the proxy's address or network to CHECKOUT_TRUSTED_PROXIES; if "
                    "it is not your proxy, something reaches the app's port directly.",
                    id="checkout.W032",
                )
            )
    return messages


@register(Tags.security)
def check_rate_limits(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Check every rate-limit rule parses and every scope the views use is configured."""
    from checkout.ratelimit import rate_limits_validate

    messages: list[CheckMessage] = [
        Error(
            f"CHECKOUT_RATE_LIMITS has an invalid rule: {problem}",
            hint='Rules look like "10/10m session" or "30/h ip".',
            id="checkout.E020",
        )
        for problem in rate_limits_validate()
    ]
    messages.extend(_proxy_messages())
    configured = getattr(settings, "CHECKOUT_RATE_LIMITS", None)
    missing = [s for s in RATE_LIMIT_SCOPES if configured is not None and s not in configured]
    if missing:
        messages.append(
            Warning(
                f"CHECKOUT_RATE_LIMITS lacks the scopes {', '.join(missing)}: their default "
                "rules apply.",
                hint="Give each scope its rules, or an empty tuple to switch it off.",
                id="checkout.W022",
            )
        )
    return messages


@register(Tags.compatibility)
def check_shop_settings(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Check email kinds, countries and senders name things the app knows."""
    from checkout.models import EmailNotification

    messages: list[CheckMessage] = []
    unknown = sorted(set(app_settings.EMAIL_KINDS) - set(EmailNotification.Kind.values))
    if unknown:
        messages.append(
            Error(
                f"CHECKOUT_EMAIL_KINDS names unknown kinds: {', '.join(unknown)}.",
                hint=f"Choose from {', '.join(EmailNotification.Kind.values)}.",
                id="checkout.E022",
            )
        )
    messages.extend(_shipping_country_messages())
    if app_settings.CAPTURE_BY not in ("api", "app"):
        messages.append(
            Error(
                f"CHECKOUT_CAPTURE_BY is {app_settings.CAPTURE_BY!r}.",
                hint='Use "api" (Spectra captures) or "app" (the app captures).',
                id="checkout.E040",
            )
        )
    senders = app_settings.EMAIL_SENDER
    wrong = sorted(k for k, v in senders.items() if v not in ("app", "spectra"))
    wrong += sorted(set(senders) - set(EmailNotification.Kind.values))
    if wrong:
        messages.append(
            Error(
                f"CHECKOUT_EMAIL_SENDER has unknown kinds or senders: {', '.join(wrong)}.",
                hint=f'Map kinds ({", ".join(EmailNotification.Kind.values)}) to "app" or '
                '"spectra".',
                id="checkout.E041",
            )
        )
    for name in RETENTION_SETTINGS:
        value = app_settings.get(f"RETENTION_{name}_DAYS")
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            messages.append(
                Error(
                    f"CHECKOUT_RETENTION_{name}_DAYS must be a whole number of days (1 or "
                    "more), or None to keep the data for good.",
                    hint="For example 30.",
                    id="checkout.E050",
                )
            )
    if hasattr(settings, "CHECKOUT_CURRENCY"):
        # The setting was removed: amounts are in the currency Spectra's answers name.
        messages.append(
            Warning(
                "CHECKOUT_CURRENCY is no longer read: amounts are shown and charged in the "
                "currency of Spectra's carts and orders (USD).",
                hint="Remove CHECKOUT_CURRENCY from your settings.",
                id="checkout.W020",
            )
        )
    return messages


def missing_keys() -> list[str]:
    """Return the names of the required key settings that are not set."""
    names = ("SPECTRA_API_KEY", "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY")
    return [PREFIX + name for name in names if not app_settings.get(name)]


@register(Tags.security, deploy=True)
def check_required_keys(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Check the keys the checkout cannot work without (``check --deploy`` only)."""
    messages: list[CheckMessage] = []
    missing = missing_keys()
    if PREFIX + "SPECTRA_API_KEY" in missing:
        messages.append(
            Error(
                "CHECKOUT_SPECTRA_API_KEY is not set.",
                hint="Create an API key in the Spectra dashboard (scopes catalog:read, "
                "orders:read, orders:write, webhooks:manage) and set it in the environment.",
                id="checkout.E001",
            )
        )
    if PREFIX + "STRIPE_SECRET_KEY" in missing:
        messages.append(
            Error(
                "CHECKOUT_STRIPE_SECRET_KEY is not set.",
                hint="Set the Stripe secret key (sk_test_... in development).",
                id="checkout.E004",
            )
        )
    if PREFIX + "STRIPE_PUBLISHABLE_KEY" in missing:
        messages.append(
            Error(
                "CHECKOUT_STRIPE_PUBLISHABLE_KEY is not set.",
                hint="Set the Stripe publishable key (pk_test_... in development); "
                "the payment page needs it for Stripe.js.",
                id="checkout.E005",
            )
        )
    return messages


def _shipping_country_messages() -> list[CheckMessage]:
    from checkout.addresses import country_is_known

    messages: list[CheckMessage] = []
    if hasattr(settings, "CHECKOUT_ALLOWED_COUNTRIES"):
        messages.append(
            Error(
                "CHECKOUT_ALLOWED_COUNTRIES was renamed CHECKOUT_SHIPPING_COUNTRIES.",
                hint="Rename the setting; billing addresses may be in any country.",
                id="checkout.E027",
            )
        )
    if not apps.is_installed("django_countries"):
        messages.append(
            Warning(
                "django_countries is not in INSTALLED_APPS: country names are in English only.",
                hint='Add "django_countries" to INSTALLED_APPS.',
                id="checkout.W021",
            )
        )
    if not app_settings.SHIPPING_COUNTRIES:
        messages.append(
            Error(
                "CHECKOUT_SHIPPING_COUNTRIES is empty: no shopper could enter an address.",
                hint='For example ("US",).',
                id="checkout.E023",
            )
        )
    unknown = [c for c in app_settings.SHIPPING_COUNTRIES if not country_is_known(c)]
    if unknown:
        messages.append(
            Error(
                f"CHECKOUT_SHIPPING_COUNTRIES has codes that name no country: "
                f"{', '.join(unknown)}.",
                hint='Use ISO 3166-1 alpha-2 codes, like "US" or "CA".',
                id="checkout.E026",
            )
        )
    return messages


@register(Tags.security, deploy=True)
def check_deploy_settings(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Check settings that only matter in production (run by ``check --deploy``)."""
    messages: list[CheckMessage] = []
    for name in ("SPECTRA_API_BASE", "SPECTRA_COMMERCE_BASE"):
        if urlsplit(str(app_settings.get(name))).scheme != "https":
            messages.append(
                Error(
                    f"CHECKOUT_{name} is not HTTPS.",
                    hint="The API key travels in every request: use the https:// URL.",
                    id="checkout.E010",
                )
            )
    if app_settings.STRIPE_API_BASE:
        messages.append(
            Warning(
                "CHECKOUT_STRIPE_API_BASE is set, so payments do not go to Stripe.",
                hint="Unset it in production; it is for localstripe in development.",
                id="checkout.W010",
            )
        )
    if not app_settings.SITE_URL.startswith("https://"):
        messages.append(
            Warning(
                "CHECKOUT_SITE_URL is not an https:// URL.",
                hint="Emails link to the order-status page through it, e.g. "
                "https://shop.example.com.",
                id="checkout.W012",
            )
        )
    if not app_settings.WEBHOOK_SECRET:
        messages.append(
            Warning(
                "CHECKOUT_WEBHOOK_SECRET is not set, so Spectra webhooks are refused.",
                hint="Run 'manage.py checkout_register_webhook' and store the secret.",
                id="checkout.W011",
            )
        )
    return messages


@register(Tags.templates)
def check_payment_page_assets(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Check the site's templates give the payment page its content, CSS, JS and Stripe.js."""
    from checkout.assets import payment_page_assets

    found = payment_page_assets()
    if found.not_ready:
        # Before migrate or collectstatic the page cannot render yet, through no fault of
        # the templates; the doctor, run on the working site, tells.
        return []
    if found.error:
        return [
            Warning(
                f"The payment page could not be rendered to check its scripts: {found.error}",
                hint="Render a checkout page to see the error; 'manage.py checkout_doctor' "
                "repeats this check.",
                id="checkout.W045",
            )
        ]
    if found.content_missing:
        return [
            Error(
                "The checkout's pages render no content: your base.html has no "
                "{% block content %} (or an override of checkout/base.html drops "
                "{% block checkout_content %}).",
                hint="Give base.html a {% block content %}{% endblock %} where a page's main "
                "content goes, or override checkout/base.html to put {% block "
                "checkout_content %} in the block your base.html has.",
                id="checkout.E045",
            )
        ]
    if found.missing:
        return [
            Error(
                f"The payment page does not load {', '.join(found.missing)}: shoppers would "
                "get no card field and could not pay.",
                hint="An override of checkout/base.html must keep {% checkout_assets 'css' %}, "
                "{% checkout_assets 'js' %} and {% block checkout_scripts %} (see "
                "docs/install.md, Templates).",
                id="checkout.E046",
            )
        ]
    if found.root_missing:
        return [
            Warning(
                "The checkout's pages have no element of class checkout-root around "
                "{% block checkout_content %}: the checkout's fieldsets and legends take your "
                "site's or the browser's look.",
                hint='An override of checkout/base.html must keep <div class="checkout-root"> '
                "around {% block checkout_content %} (see docs/install.md, Theming).",
                id="checkout.W046",
            )
        ]
    return []
