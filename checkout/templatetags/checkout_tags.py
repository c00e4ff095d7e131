"""Template helpers of the checkout pages; ``money`` is the one way prices are shown."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import HttpRequest
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

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


@register.simple_tag
def checkout_field(field: Any, wide: bool = False) -> str:
    """Render a form field as ``checkout/includes/field.html`` does, without an include.

    Label, help text (wired by ``aria-describedby``), the widget and its errors; the
    include stays for overriding templates, this tag is what the checkout steps use.
    """
    if field.is_hidden:
        return str(field)
    errors = field.errors
    classes = "field" + (" field--invalid" if errors else "") + (" field--wide" if wide else "")
    help_html = (
        format_html('<p class="field__help" id="{}_help">{}</p>', field.auto_id, field.help_text)
        if field.help_text
        else ""
    )
    error_html = (
        format_html(
            '<p class="field__error" id="{}_error">{}</p>',
            field.auto_id,
            mark_safe(" ".join(conditional_escape(e) for e in errors)),  # noqa: S308 - escaped
        )
        if errors
        else ""
    )
    return format_html(
        '\n<div class="{}" data-field="{}">\n  <label for="{}">{}</label>\n'
        "  {}\n  {}\n  {}\n</div>",
        classes,
        field.html_name,
        field.id_for_label,
        field.label,
        help_html,
        field.as_widget(),
        error_html,
    )
