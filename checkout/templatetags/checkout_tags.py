"""Template helpers of the checkout pages; ``money`` is the one way prices are shown.

For a merchant's own templates: ``{% checkout_add_to_cart variant_id %}`` renders an
add-to-cart form posting to ``checkout:cart-add``; ``{% checkout_shop_name %}`` and
``{% checkout_continue_shopping_url %}`` give the configured shop name and shop link.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.dates import format_skeleton
from django import template
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch
from django.utils.text import slugify
from django.utils.translation import get_language, gettext

from checkout.addresses import address_lines as format_address_lines
from checkout.addresses import country_name as format_country_name
from checkout.conf import app_settings
from checkout.forms import attr_display_name
from checkout.money import babel_locale, format_money, intl_locale
from checkout.services.cart import cart_count_from_session
from checkout.services.spectra import API_CURRENCY

register = template.Library()
logger = logging.getLogger(__name__)


@register.filter
def money(value: Any, currency: str | None = None) -> str:
    """Format an amount in the active language (``$1,234.56``, ``1.234,56 $``); blank for None.

    ``currency`` is the quote's or order's; without one, the API's (catalog and cart
    prices carry no other).
    """
    if value is None or value == "":
        return ""
    try:
        # Not ``conf.money``: its cents would cut a three-decimal currency short.
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        return format_money(amount, currency=currency or API_CURRENCY)
    except (InvalidOperation, TypeError, ValueError):
        return ""


@register.filter
def day_and_date(value: dt.date | None) -> str:
    """Return a date with its weekday, short, as the active language writes it ("Mon, Dec
    7", "Mo., 7. Dez.", "lun. 7 déc."): CLDR's pattern, not one language's word order."""
    if not isinstance(value, dt.date):
        return ""
    return str(format_skeleton("MMMEd", value, locale=babel_locale(get_language())))


@register.simple_tag
def money_locale() -> str:
    """Return the active language as ``Intl.NumberFormat`` takes it ("de", "en-US")."""
    return intl_locale()


@register.simple_tag(takes_context=True)
def cart_count(context: template.Context) -> int:
    """Return the session's cart item count (kept in the session, no API call)."""
    request: HttpRequest | None = context.get("request")
    if request is None or not hasattr(request, "session"):
        return 0
    return cart_count_from_session(request)


@register.simple_tag(takes_context=True)
def checkout_shop_name(context: template.Context) -> str:
    """Return the shop's name for page titles: ``CHECKOUT_SHOP_NAME``, else the current
    site's name (``django.contrib.sites``), else "Shop"."""
    if app_settings.SHOP_NAME:
        return app_settings.SHOP_NAME
    from django.apps import apps

    if apps.is_installed("django.contrib.sites"):
        from django.contrib.sites.shortcuts import get_current_site

        try:
            name = get_current_site(context.get("request")).name
        except Exception:  # no Site row yet (a fresh database): the title must still render
            logger.warning("No current Site for the shop name; using the default")
        else:
            if name:
                return str(name)
    return gettext("Shop")


@register.simple_tag
def checkout_continue_shopping_url() -> str:
    """Return where "Continue shopping" goes (``CHECKOUT_CONTINUE_SHOPPING_URL``: a path,
    an absolute URL or a URL name)."""
    value = app_settings.CONTINUE_SHOPPING_URL
    try:
        return str(resolve_url(value))
    except NoReverseMatch:
        # resolve_url returns anything that looks like a URL as it is; a name that
        # names nothing would be a dead link, so fall back to the site's root.
        logger.warning("CHECKOUT_CONTINUE_SHOPPING_URL %r is not a URL or URL name", value)
        return "/"


@register.inclusion_tag("checkout/includes/add_to_cart_form.html", takes_context=True)
def checkout_add_to_cart(
    context: template.Context,
    variant_id: int | str | None = None,
    *,
    sku: str = "",
    quantity: int = 1,
    next: str = "",
    label: str = "",
    show_quantity: bool = True,
) -> dict[str, Any]:
    """Render a form that adds a variant (its Spectra id, or ``sku=``) to the cart.

    ``next`` is where the shopper lands afterwards (default: the cart); ``show_quantity``
    False posts ``quantity`` as a hidden field.
    """
    if variant_id in (None, "") and not sku:
        raise template.TemplateSyntaxError("checkout_add_to_cart needs a variant id or sku=...")
    product = sku or str(variant_id)
    return {
        "field_id": "checkout-add-quantity-" + (slugify(product) or "item"),
        "csrf_token": context.get("csrf_token"),
        "variant_id": "" if variant_id is None else variant_id,
        "sku": sku,
        "quantity": quantity,
        "next": next,
        "label": label or gettext("Add to cart"),
        "show_quantity": show_quantity,
    }


@register.filter
def attr_label(name: str) -> str:
    """Return the shopper-facing label of a variant attribute name."""
    return attr_display_name(name)


@register.filter
def country_name(code: str) -> str:
    """Return the country's name for its code ("DE" -> "Germany")."""
    return format_country_name(code)


@register.filter
def address_lines(address: Any) -> list[str]:
    """Return an address as the lines its country writes it in, the country last; the
    pages and emails join them (``checkout/includes/address.html``)."""
    return format_address_lines(address if isinstance(address, Mapping) else None)


@register.filter
def negate(value: Any) -> Decimal:
    """Return ``-value`` as a Decimal (for discounts shown as deductions)."""
    return -(value if isinstance(value, Decimal) else Decimal(str(value or 0)))


class CheckoutCacheNode(template.Node):
    """``{% checkout_cache spec %}...{% endcheckout_cache %}``: Django's fragment cache,
    on only when the view gives ``spec`` (``{"seconds", "key"}``); otherwise the content
    is rendered as usual and the cache is not asked at all."""

    def __init__(self, nodelist: template.NodeList, spec: template.base.FilterExpression):
        self.nodelist = nodelist
        self.spec = spec

    def render(self, context: template.Context) -> str:
        spec = self.spec.resolve(context, ignore_failures=True)
        if not spec:
            return self.nodelist.render(context)
        key = make_template_fragment_key("checkout", [spec["key"]])
        try:
            cached = cache.get(key)
        except Exception:  # a cache outage must not break the page
            logger.exception("checkout fragment cache unavailable")
            return self.nodelist.render(context)
        if cached is not None:
            return str(cached)
        value = self.nodelist.render(context)
        try:
            cache.set(key, value, spec["seconds"])
        except Exception:
            logger.exception("checkout fragment cache unavailable")
        return value


@register.tag("checkout_cache")
def checkout_cache(parser: template.base.Parser, token: template.base.Token) -> CheckoutCacheNode:
    """Cache the enclosed content under the view's ``fragment_cache`` spec (see the node)."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("'checkout_cache' takes the view's cache spec")
    nodelist = parser.parse(("endcheckout_cache",))
    parser.delete_first_token()
    return CheckoutCacheNode(nodelist, parser.compile_filter(bits[1]))
