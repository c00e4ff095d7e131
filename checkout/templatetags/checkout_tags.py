"""Template helpers of the checkout pages; ``money`` is the one way prices are shown."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import HttpRequest

from checkout.conf import app_settings
from checkout.conf import money as to_money
from checkout.forms import attr_display_name
from checkout.services.cart import cart_count_from_session

register = template.Library()

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
def negate(value: Any) -> Decimal:
    """Return ``-value`` as a Decimal (for discounts shown as deductions)."""
    return -to_money(value or 0)
