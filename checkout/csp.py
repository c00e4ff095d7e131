"""The Content-Security-Policy of the checkout's own pages, set per view by ``checkout_csp``.

The checkout's pages load Stripe.js, let it talk to Stripe's API and show its 3-D Secure
frames, and show product images from the Spectra API. ``checkout_csp`` gives a view's HTML
responses a policy that allows exactly that and works with the site's own policy:

- The site enforces a policy with Django 6's ``ContentSecurityPolicyMiddleware``
  (``SECURE_CSP``) or django-csp 4's ``CSPMiddleware`` (``CONTENT_SECURITY_POLICY``): the
  page gets the site's policy with the checkout's sources added. Both middlewares build
  the header from a per-response override (``response._csp_config``) when one is set, so
  the site's nonce, reporting and other directives stay. A report-only policy is extended
  the same way, so that it does not report Stripe.js.
- The site enforces none: the page gets the checkout's own policy (``checkout_policy``).
- The view set ``Content-Security-Policy`` itself: it is left alone (both middlewares
  leave such a header alone too).

``extend_site_policy`` does the extending alone, for the app's other pages that need a
source more (the admin's email preview frames the email). Nothing here touches a page
that does not ask.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponseBase
from django.utils.module_loading import import_string

from checkout.conf import app_settings

__all__ = [
    "apply_checkout_policy",
    "checkout_csp",
    "checkout_policy",
    "checkout_sources",
    "extend_site_policy",
    "extended",
    "policy_header",
]

HEADER = "Content-Security-Policy"
SELF = "'self'"
NONE = "'none'"
STRIPE_JS_ORIGIN = "https://js.stripe.com"
# What Stripe.js talks to and frames besides its own origin (Stripe's CSP guide).
STRIPE_CONNECT = ("https://api.stripe.com",)
STRIPE_FRAMES = ("https://hooks.stripe.com",)
# The Payment Element's frames and scripts (Link, wallets) also come from Stripe.js's
# subdomains (Stripe's CSP guide).
STRIPE_JS_SUBDOMAINS = "https://*.js.stripe.com"

# The directives a browser applies when one is absent (CSP Level 3), for those the
# checkout adds sources to.
FALLBACKS: dict[str, tuple[str, ...]] = {
    "script-src": ("default-src",),
    "script-src-elem": ("script-src", "default-src"),
    "connect-src": ("default-src",),
    "frame-src": ("child-src", "default-src"),
    "img-src": ("default-src",),
}

# A checkout page's policy on a site that has none, before the checkout's sources are
# added: the page's own origin and nothing else, and it may not be framed.
OWN_POLICY: dict[str, list[str]] = {
    "default-src": [SELF],
    "script-src": [SELF],
    "frame-src": [NONE],
    "connect-src": [SELF],
    "img-src": [SELF, "data:"],
    "style-src": [SELF],
    "font-src": [SELF],
    "object-src": [NONE],
    "base-uri": [SELF],
    "form-action": [SELF],
    "frame-ancestors": [NONE],
}

# The host middlewares whose policy the checkout extends, and the response attributes each
# reads its enforced and report-only overrides from.
DJANGO_MIDDLEWARE = "django.middleware.csp.ContentSecurityPolicyMiddleware"
DJANGO_CSP_MIDDLEWARE = "csp.middleware.CSPMiddleware"
HOST_MIDDLEWARE = {
    DJANGO_MIDDLEWARE: ("_csp_config", "_csp_ro_config"),
    DJANGO_CSP_MIDDLEWARE: ("_csp_config", "_csp_config_ro"),
}

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)


def origin(url: str | None) -> str:
    """Return ``scheme://host[:port]`` of ``url`` ('' when it has none)."""
    if not url:
        return ""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def _unique(*sources: str) -> list[str]:
    return list(dict.fromkeys(source for source in sources if source))


def checkout_sources() -> dict[str, list[str]]:
    """Return the origins the checkout's pages need, per directive (settings read now)."""
    stripe = origin(app_settings.STRIPE_JS_URL)
    scripts: tuple[str, ...] = ()
    if stripe == STRIPE_JS_ORIGIN:
        connect: tuple[str, ...] = STRIPE_CONNECT
        frames: tuple[str, ...] = STRIPE_FRAMES
        if app_settings.PAYMENT_UI == "payment_element":
            scripts = (STRIPE_JS_SUBDOMAINS,)
            frames = (STRIPE_JS_SUBDOMAINS, *frames)
    else:  # another Stripe.js (localstripe) talks to the API it was configured with
        connect = (origin(app_settings.STRIPE_API_BASE),)
        frames = ()
    return {
        "script-src": _unique(stripe, *scripts),
        "frame-src": _unique(stripe, *frames),
        "connect-src": _unique(stripe, *connect),
        "img-src": _unique(origin(app_settings.SPECTRA_API_BASE), *app_settings.CSP_IMG_SOURCES),
    }


def _values(value: Any) -> list[Any] | None:
    """A directive's sources as a list, or None when the directive is absent."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, set | frozenset):
        return sorted(value)
    return list(value) or None


def extended(policy: Mapping[str, Any], sources: Mapping[str, list[str]]) -> dict[str, Any]:
    """Return ``policy`` (directive -> sources) with ``sources`` allowed too.

    A directive the policy leaves out starts from the one the browser would fall back
    to, so adding Stripe to ``script-src`` keeps what ``default-src`` allowed. A directive
    with no fallback in the policy allows everything already and is left out.
    """
    result = dict(policy)
    wanted = dict(sources)
    if _values(policy.get("script-src-elem")) is not None:
        wanted["script-src-elem"] = wanted.get("script-src", [])
    for directive, extra in wanted.items():
        if not extra:
            continue
        current = next(
            (
                values
                for name in (directive, *FALLBACKS.get(directive, ("default-src",)))
                if (values := _values(policy.get(name))) is not None
            ),
            None,
        )
        if current is None:
            continue
        # 'none' alongside a source is ignored by browsers and is a mistake in the header.
        kept = [value for value in current if value != NONE]
        result[directive] = kept + [source for source in extra if source not in kept]
    return result


def checkout_policy() -> dict[str, list[str]]:
    """Return the checkout pages' policy on a site that sets none."""
    return extended(OWN_POLICY, checkout_sources())


def policy_header(policy: Mapping[str, Any]) -> str:
    """Return the header value of a policy of plain string sources."""
    parts = []
    for directive, value in policy.items():
        values = _values(value)
        if values:
            parts.append(f"{directive} {' '.join(values)}")
        elif value is True:
            parts.append(directive)
    return "; ".join(parts)


@functools.lru_cache(maxsize=8)
def _host_middleware(middleware: tuple[str, ...]) -> str | None:
    """Return the dotted path of the CSP middleware the site runs, or None.

    With two installed, the one nearer the end of ``MIDDLEWARE`` sees the response first
    and writes the header.
    """
    known: list[tuple[str, type]] = []
    for path in HOST_MIDDLEWARE:
        try:
            known.append((path, import_string(path)))
        except ImportError:  # Django before 6.0, or django-csp not installed
            continue
    for entry in reversed(middleware):
        try:
            cls = import_string(entry)
        except ImportError:
            continue
        for path, base in known:
            if isinstance(cls, type) and issubclass(cls, base):
                return path
    return None


def _host_policies(middleware: str) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """Return the site's enforced and report-only policies (directive -> sources)."""
    if middleware == DJANGO_MIDDLEWARE:
        return (
            getattr(settings, "SECURE_CSP", None) or None,
            getattr(settings, "SECURE_CSP_REPORT_ONLY", None) or None,
        )
    found: list[Mapping[str, Any] | None] = []
    for name in ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY"):
        config = getattr(settings, name, None)
        # django-csp's default: default-src 'self' unless the directives say otherwise.
        found.append({"default-src": [SELF], **config.get("DIRECTIVES", {})} if config else None)
    return found[0], found[1]


def extend_site_policy(response: HttpResponseBase, sources: Mapping[str, list[str]]) -> bool:
    """Give ``response`` the site's policies with ``sources`` allowed too.

    Both the enforced and the report-only policy are extended; a site without a CSP
    middleware is left alone. Return whether the site enforces a policy.
    """
    middleware = _host_middleware(tuple(settings.MIDDLEWARE))
    if middleware is None:
        return False
    enforced, report_only = _host_policies(middleware)
    enforced_attr, report_only_attr = HOST_MIDDLEWARE[middleware]
    if enforced:
        setattr(response, enforced_attr, extended(enforced, sources))
    if report_only:
        setattr(response, report_only_attr, extended(report_only, sources))
    return bool(enforced)


def apply_checkout_policy(response: HttpResponseBase) -> None:
    """Give ``response`` the checkout's policy, extending the site's where it has one."""
    if not extend_site_policy(response, checkout_sources()) and HEADER not in response:
        response[HEADER] = policy_header(checkout_policy())


def checkout_csp(view: Callable[P, R]) -> Callable[P, R]:
    """Decorate a checkout view: its HTML responses allow what the checkout pages load."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        response = view(*args, **kwargs)
        if response.get("Content-Type", "").startswith("text/html"):
            apply_checkout_policy(response)
        return response

    return wrapped
