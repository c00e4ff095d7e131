"""Template helpers of the checkout pages; ``money`` is the one way prices are shown."""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.http import HttpRequest

from checkout.forms import COUNTRY_NAMES, attr_display_name
from checkout.money import format_money, intl_locale
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


@register.filter
def attr_label(name: str) -> str:
    """Return the shopper-facing label of a variant attribute name."""
    return attr_display_name(name)


@register.filter
def country_name(code: str) -> str:
    """Return the country's name for its code ("US" -> "United States")."""
    return str(COUNTRY_NAMES.get(str(code or "").upper(), code or ""))


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
