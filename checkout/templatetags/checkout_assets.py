"""The checkout's own CSS and JS tags, which reach the page whatever the site's block names.

``checkout/base.html`` asks for each asset twice: in the site's ``head`` (or ``scripts``)
block, where it belongs, and again inside the content it owns. Whichever renders first
writes the tag; the other writes nothing. A site whose ``base.html`` names its blocks
differently still gets the stylesheet and the scripts, inside the page's content, where
browsers load them just the same. Script tags carry the request's CSP nonce when the
site's CSP middleware offers one, so a policy built on nonces lets them run.
"""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# What each kind of asset writes; a checkout page writes each kind once.
STYLESHEET = "checkout/checkout.css"
SCRIPT = "checkout/checkout.js"
KINDS = ("css", "js")
# Kept in the render context, which every template of one page's extends chain shares.
WRITTEN = "checkout_assets_written"


def nonce_attribute(context: template.Context) -> SafeString:
    """Return ``' nonce="..."'`` when the site's CSP middleware gives the request one."""
    # Both middlewares' lazy nonce is falsy until read: test for None, then read it (which
    # tells the middleware to put it in the header).
    request = context.get("request")
    nonce = getattr(request, "csp_nonce", None)  # django-csp
    if nonce is None:
        # Django 6's own ContentSecurityPolicyMiddleware (django.middleware.csp.get_nonce).
        nonce = getattr(request, "_csp_nonce", None)
    if nonce is None:
        return mark_safe("")
    return format_html(' nonce="{}"', str(nonce))


@register.simple_tag(takes_context=True)
def checkout_assets(context: template.Context, kind: str) -> SafeString:
    """Write the checkout's stylesheet (``"css"``) or script (``"js"``), once per page."""
    if kind not in KINDS:
        raise template.TemplateSyntaxError(f"checkout_assets takes one of {KINDS}, not {kind!r}")
    written = context.render_context.get(WRITTEN)
    if not isinstance(written, set):
        written = set()
        context.render_context[WRITTEN] = written
    if kind in written:
        return mark_safe("")
    written.add(kind)
    if kind == "css":
        return format_html('<link rel="stylesheet" href="{}">', static(STYLESHEET))
    return format_html(
        '<script src="{}" defer{}></script>', static(SCRIPT), nonce_attribute(context)
    )


@register.simple_tag(takes_context=True)
def checkout_script(context: template.Context, src: str) -> SafeString:
    """Write a ``<script>`` tag for ``src`` (Stripe.js) with the request's CSP nonce."""
    return format_html('<script src="{}"{}></script>', src, nonce_attribute(context))
