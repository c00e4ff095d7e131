"""Template helpers of the checkout pages; ``money`` is the one way prices are shown."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.http import HttpRequest

from checkout.addresses import address_lines as format_address_lines
from checkout.addresses import country_name as format_country_name
from checkout.conf import app_settings
from checkout.conf import money as to_money
from checkout.forms import attr_display_name
from checkout.services.cart import cart_count_from_session

register = template.Library()
logger = logging.getLogger(__name__)

CURRENCY_SYMBOLS = {"USD": "$", "CAD": "CA$", "EUR": "€", "GBP": "£"}


@register.filter
def money(value: Any, currency: str | None = None) -> str:
    """Format an amount as ``$1,234.56`` (negative with a minus sign); blank for None."""
    if value is None or value == "":
        return ""
    try:
        amount = to_money(value)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    code = (currency or app_settings.CURRENCY).upper()
    symbol = CURRENCY_SYMBOLS.get(code, code + " ")
    sign = "\u2212" if amount < 0 else ""
    whole, _, cents = f"{abs(amount):.2f}".partition(".")
    return f"{sign}{symbol}{intcomma(int(whole), use_l10n=False)}.{cents}"


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
    return -to_money(value or 0)


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
