"""Whether the site's templates deliver what the payment page must load.

The payment page needs its content, the checkout's stylesheet and script, and Stripe.js.
``payment_page_assets`` renders ``checkout/payment.html`` through the site's own
templates (its ``base.html``, any override of ``checkout/base.html``) with a stand-in
context and says what is missing. The system check ``checkout.E045``/``E046``/``W045``
and ``checkout_doctor`` both report it, so a base template that would leave the payment
page without its card field never passes silently. An override that drops the
``checkout-root`` element, to which the stylesheet's element rules are scoped, is a
warning (``checkout.W046``): the page works, but its fieldsets lose the checkout's look.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape

from checkout.conf import app_settings

# A manifest storage without its manifest (before collectstatic) raises from here.
STATIC_STORAGE = ("contrib", "staticfiles", "storage.py")
# The payment form's marker: present only when the page's own content was rendered.
CONTENT_MARKER = "data-payment-form"
# The element around checkout_content that checkout.css scopes its element rules to.
ROOT_CLASS = re.compile(r'class="(?:[^"]*\s)?checkout-root(?:\s[^"]*)?"')


@dataclass(frozen=True)
class PageAssets:
    """What the rendered payment page lacks (nothing missing when ``error`` is empty)."""

    error: str = ""  # why the page could not be rendered at all
    # Rendering needs what a fresh project may not have yet (migrations, collectstatic).
    not_ready: bool = False
    content_missing: bool = False
    missing: tuple[str, ...] = ()
    # The page works without it; only the checkout's element rules (fieldset, legend) miss.
    root_missing: bool = False

    @property
    def ok(self) -> bool:
        return not (self.error or self.content_missing or self.missing)


def expected_assets() -> dict[str, str]:
    """Return the payment page's assets: name -> the URL its tag must carry."""
    return {
        "checkout.css": static("checkout/checkout.css"),
        "checkout.js": static("checkout/checkout.js"),
        "Stripe.js": app_settings.STRIPE_JS_URL,
    }


def _stand_in_host() -> str:
    """A host name the site accepts (its first ``ALLOWED_HOSTS`` entry that names one)."""
    for host in settings.ALLOWED_HOSTS:
        name = host.lstrip(".")
        if name and name != "*":
            return name
    return "localhost"


def _stand_in_request() -> HttpRequest:
    try:
        path = reverse("checkout:checkout-payment")
    except NoReverseMatch:
        path = "/"
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = path
    request.META = {"HTTP_HOST": _stand_in_host(), "SERVER_NAME": "localhost", "SERVER_PORT": "80"}
    # A session with no key and an anonymous user: nothing is read from the database.
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    if "django.contrib.auth" in settings.INSTALLED_APPS:
        from django.contrib.auth.models import AnonymousUser

        request.user = AnonymousUser()
    return request


def render_payment_page() -> str:
    """Render ``checkout/payment.html`` as a shopper's first visit would, with no attempt."""
    context = {
        "payment_needed": True,
        "stripe_js_url": app_settings.STRIPE_JS_URL,
        "stripe_publishable_key": app_settings.STRIPE_PUBLISHABLE_KEY,
        "same_as_shipping": True,
        "payment_labels": {},
    }
    return render_to_string("checkout/payment.html", context, request=_stand_in_request())


def _not_ready(err: Exception) -> bool:
    """Whether ``err`` comes from a database not migrated or static files not collected."""
    if isinstance(err, DatabaseError):
        return True
    traceback = err.__traceback__
    while traceback is not None:
        if Path(traceback.tb_frame.f_code.co_filename).parts[-3:] == STATIC_STORAGE:
            return True
        traceback = traceback.tb_next
    return False


def payment_page_assets() -> PageAssets:
    """Render the payment page through the site's templates and report what it lacks."""
    try:
        page = render_payment_page()
    except Exception as err:  # any template or URL mistake of the site's: reported, not raised
        return PageAssets(error=f"{err.__class__.__name__}: {err}", not_ready=_not_ready(err))
    if CONTENT_MARKER not in page:
        return PageAssets(content_missing=True)
    missing = tuple(
        name
        for name, url in expected_assets().items()
        if not url or f'="{escape(url)}"' not in page
    )
    return PageAssets(missing=missing, root_missing=not ROOT_CLASS.search(page))
