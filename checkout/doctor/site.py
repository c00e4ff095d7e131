"""The doctor's checks of how the site is wired: its URLs and the client address.

URLs: the checkout's URLs reverse under the ``checkout:`` namespace and resolve back to the
checkout (no pattern of the site's own answers them first); the site's home page ``/``
is not the checkout's or the demo catalog's (except on this repository's demo site); the
webhook URLs to register are what ``reverse`` gives.

Client address: where the rate limits take the shopper's address from, and what the rate
limiter saw on requests (``checkout/proxies.py``): X-Forwarded-For with no proxy trusted
fails, because every shopper behind the proxy shares one rate limit.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.translation import gettext as _

import checkout
from checkout.conf import app_settings
from checkout.doctor import FAIL, OK, WARN, Result

# URL names a working checkout needs; each must resolve back into the checkout.
CHECKOUT_URL_NAMES = ("cart", "checkout-start", "checkout-payment", "checkout-pay")
WEBHOOK_URL_NAMES = ("webhook-spectra", "webhook-stripe")


def is_demo_site() -> bool:
    """Whether the site is this repository's demo (its URLconf is ``config/urls.py`` here)."""
    urlconf = settings.ROOT_URLCONF
    if not isinstance(urlconf, str):
        return False  # a module object (tests): never the demo's file
    try:
        module = importlib.import_module(urlconf)
    except ImportError:
        return False
    demo = Path(checkout.__file__).resolve().parent.parent / "config" / "urls.py"
    return Path(str(getattr(module, "__file__", "") or "")).resolve() == demo


def _view_name(match: object) -> str:
    return str(getattr(match, "view_name", "") or getattr(match, "_func_path", "") or "?")


def _public(path: str) -> str:
    base = app_settings.SITE_URL
    return f"{base}{path}" if base else f"https://<your-site>{path}"


def check_urls(*, webhook_url: str = "") -> Result:
    """Check the checkout's URLs reverse, resolve to the checkout and leave ``/`` alone."""
    name = _("URLs")
    try:
        paths = {n: reverse(f"checkout:{n}") for n in CHECKOUT_URL_NAMES + WEBHOOK_URL_NAMES}
    except NoReverseMatch:
        return Result(
            name,
            FAIL,
            _(
                "the checkout's URLs do not reverse (checkout:cart): add "
                'path("checkout/", include("checkout.urls")) to your URLconf.'
            ),
        )
    for path in paths.values():
        try:
            match = resolve(path)
        except Resolver404:
            match = None
        if match is None or "checkout" not in match.app_names:
            return Result(
                name,
                FAIL,
                _(
                    "%(path)s is answered by %(view)s, not the checkout: a pattern of your "
                    'URLconf before include("checkout.urls") takes it. Move the include '
                    "up, or give the checkout a prefix of its own."
                )
                % {"path": path, "view": _view_name(match) if match else _("nothing")},
            )
    demo = is_demo_site()
    try:
        home = resolve("/")
    except Resolver404:
        home = None  # the site has no home page: nothing to take over
    if home is not None and {"checkout", "checkout_storefront"} & set(home.app_names) and not demo:
        return Result(
            name,
            FAIL,
            _(
                "your home page / is the checkout's %(view)s: mount checkout.urls (and "
                "checkout.urls_storefront, if you want the demo catalog) under prefixes "
                "such as checkout/ and shop/ (docs/install.md, URLs)."
            )
            % {"view": _view_name(home)},
        )
    spectra = paths["webhook-spectra"]
    # The public path may carry a prefix of the proxy's (SCRIPT_NAME), never another end.
    if webhook_url and not urlsplit(webhook_url).path.rstrip("/").endswith(spectra.rstrip("/")):
        return Result(
            name,
            FAIL,
            _(
                "--webhook-url %(url)s is not where this site receives Spectra's webhooks "
                "(%(path)s, from reverse('checkout:webhook-spectra')): register %(public)s."
            )
            % {"url": webhook_url, "path": spectra, "public": _public(spectra)},
        )
    detail = _("the cart at %(cart)s; register the webhooks at %(spectra)s and %(stripe)s") % {
        "cart": paths["cart"],
        "spectra": _public(spectra),
        "stripe": _public(paths["webhook-stripe"]),
    }
    if paths["cart"] == "/cart/" and not demo:
        return Result(
            name,
            WARN,
            detail
            + "; "
            + _(
                "it is mounted at the site's root, where its paths (/cart/, /checkout/, "
                "/orders/) may take your own: mount it under a prefix such as checkout/."
            ),
        )
    return Result(name, OK, detail)


def check_client_address() -> Result:
    """Say where the rate limits' client address comes from, and whether requests agree."""
    from checkout.proxies import FORWARDED_UNTRUSTED, proxy_sightings
    from checkout.services.webhook_health import cache_is_shared

    name = _("Client address")
    count = app_settings.TRUSTED_PROXY_COUNT
    proxies = ", ".join(app_settings.TRUSTED_PROXIES)
    sightings = {s.kind: s for s in proxy_sightings()}
    hint = _(
        "Set CHECKOUT_TRUSTED_PROXY_COUNT to the number of proxies that append to "
        "X-Forwarded-For and CHECKOUT_TRUSTED_PROXIES to their addresses (docs/install.md, "
        "Deployment)."
    )
    forwarded = sightings.get(FORWARDED_UNTRUSTED)
    if forwarded is not None:
        return Result(
            name,
            FAIL,
            _(
                "requests arrive with X-Forwarded-For (from %(peer)s, the last at %(when)s), "
                "but no proxy is trusted: every shopper behind the proxy shares one rate "
                "limit."
            )
            % {"peer": forwarded.peer or "?", "when": forwarded.at.isoformat(timespec="seconds")}
            + " "
            + hint,
        )
    untrusted = [s for s in sightings.values() if s.kind != FORWARDED_UNTRUSTED]
    if untrusted:
        return Result(
            name,
            WARN,
            _(
                "requests with X-Forwarded-For arrive from %(peer)s (the last at %(when)s), "
                "which is not in CHECKOUT_TRUSTED_PROXIES (%(proxies)s): their header is "
                "ignored. If it is your proxy, add it."
            )
            % {
                "peer": untrusted[0].peer,
                "when": untrusted[0].at.isoformat(timespec="seconds"),
                "proxies": proxies,
            },
        )
    unseen = (
        ""
        if cache_is_shared()
        else " "
        + _(
            "(What requests carry is noted in the cache, which is per process here: this check "
            "cannot see the web processes' notes.)"
        )
    )
    if count == 0:
        if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
            return Result(
                name,
                WARN,
                _(
                    "REMOTE_ADDR, though SECURE_PROXY_SSL_HEADER says a proxy is in front: "
                    "every shopper would share its address in the rate limits."
                )
                + " "
                + hint,
            )
        return Result(
            name,
            OK,
            _(
                "REMOTE_ADDR (no proxy trusted; no request the rate limits counted has carried "
                "X-Forwarded-For)"
            )
            + unseen,
        )
    source = _("X-Forwarded-For, entry %(count)d from the right") % {"count": count}
    if not proxies:
        return Result(
            name,
            OK,
            _(
                "%(source)s, from any peer: list your proxies in CHECKOUT_TRUSTED_PROXIES "
                "unless only they can reach the app's port."
            )
            % {"source": source}
            + unseen,
        )
    return Result(
        name,
        OK,
        _("%(source)s, from %(proxies)s only") % {"source": source, "proxies": proxies} + unseen,
    )
