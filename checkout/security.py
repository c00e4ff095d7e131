"""Browser security headers Django 5.2 does not set itself: the Content-Security-Policy.

``ContentSecurityPolicyMiddleware`` allows the site's own scripts, styles and images,
Stripe.js (its origin taken from ``CHECKOUT_STRIPE_JS_URL``, so localstripe's copy works
in development) and nothing else: no inline script, no other frame, no form posting
elsewhere, and the site may not be framed. Product images come from the Spectra API's
origin plus ``CHECKOUT_CSP_IMG_SOURCES``. With Stripe's own Stripe.js, Stripe's API and
3-D Secure hosts are allowed as Stripe documents them; with another Stripe.js (localstripe),
the ``CHECKOUT_STRIPE_API_BASE`` origin is. A response that already carries a policy keeps it.

Add ``"checkout.security.ContentSecurityPolicyMiddleware"`` to ``MIDDLEWARE`` (anywhere
after ``SecurityMiddleware``).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse

from checkout.conf import app_settings

HEADER = "Content-Security-Policy"
STRIPE_JS_ORIGIN = "https://js.stripe.com"
# What Stripe.js talks to and frames besides its own origin (Stripe's CSP guide).
STRIPE_CONNECT = ("https://api.stripe.com",)
STRIPE_FRAMES = ("https://hooks.stripe.com",)


def origin(url: str | None) -> str:
    """Return ``scheme://host[:port]`` of ``url`` ('' when it has none)."""
    if not url:
        return ""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def _join(*sources: str) -> str:
    seen: list[str] = []
    for source in sources:
        if source and source not in seen:
            seen.append(source)
    return " ".join(seen)


def content_security_policy() -> str:
    """Return the policy for the current settings (read at call time)."""
    stripe = origin(app_settings.STRIPE_JS_URL)
    if stripe == STRIPE_JS_ORIGIN:
        connect: tuple[str, ...] = STRIPE_CONNECT
        frames: tuple[str, ...] = STRIPE_FRAMES
    else:
        connect = (origin(app_settings.STRIPE_API_BASE),)
        frames = ()
    images = (origin(app_settings.SPECTRA_API_BASE), *app_settings.CSP_IMG_SOURCES)
    directives = {
        "default-src": "'self'",
        "script-src": _join("'self'", stripe),
        "frame-src": _join(stripe, *frames) or "'none'",
        "connect-src": _join("'self'", stripe, *connect),
        "img-src": _join("'self'", "data:", *images),
        "style-src": "'self'",
        "font-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class ContentSecurityPolicyMiddleware:
    """Set ``Content-Security-Policy`` on every response that has none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = content_security_policy()
        return response
