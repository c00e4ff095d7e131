"""How admin shows statuses and money: colored badges and small formatting helpers.

Tones map every known value to a color class in ``checkout/admin/admin.css``; an
unknown value (the API may send new ones) gets the neutral tone and its raw text.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from checkout.addresses import address_lines, phone_display
from checkout.models import CheckoutAttempt, EmailNotification, Order, WebhookEvent

ORDER_STATUS_TONES = {
    "pending": "warning",
    "processing": "info",
    "shipped": "primary",
    "delivered": "success",
    "cancelled": "danger",
    "refunded": "muted",
}
PAYMENT_STATUS_TONES = {
    "captured": "success",
    "authorized": "info",
    "pending": "warning",
    "refunded": "muted",
    "partially_refunded": "muted",
    "failed": "danger",
    "voided": "muted",
}
PAYMENT_STATUS_LABELS = {
    "captured": _("Captured"),
    "authorized": _("Authorized"),
    "pending": _("Pending"),
    "refunded": _("Refunded"),
    "partially_refunded": _("Partially refunded"),
    "failed": _("Failed"),
    "voided": _("Voided"),
}
ATTEMPT_STATE_TONES = {
    "collecting": "muted",
    "payment_authorized": "info",
    "submitting": "warning",
    "placed": "success",
    "failed": "danger",
    "needs_review": "danger",
}
WEBHOOK_OUTCOME_TONES = {
    "received": "warning",
    "processed": "success",
    "ignored": "muted",
    "failed": "danger",
}
EMAIL_STATUS_TONES = {
    "queued": "warning",
    "sending": "info",
    "sent": "success",
    "suppressed": "muted",
    "failed": "danger",
}


def badge(label: Any, tone: str = "muted") -> SafeString:
    """Return a colored badge (the label is escaped)."""
    return format_html('<span class="checkout-badge checkout-badge--{}">{}</span>', tone, label)


def order_status_badge(order: Order) -> SafeString:
    labels = dict(Order.Status.choices)
    return badge(
        labels.get(order.status, order.status or "-"),
        ORDER_STATUS_TONES.get(order.status, "muted"),
    )


def payment_status_badge(value: str) -> SafeString:
    return badge(
        PAYMENT_STATUS_LABELS.get(value, value or "-"), PAYMENT_STATUS_TONES.get(value, "muted")
    )


def attempt_state_badge(attempt: CheckoutAttempt) -> SafeString:
    return badge(attempt.get_state_display(), ATTEMPT_STATE_TONES.get(attempt.state, "muted"))


def webhook_outcome_badge(event: WebhookEvent) -> SafeString:
    return badge(event.get_outcome_display(), WEBHOOK_OUTCOME_TONES.get(event.outcome, "muted"))


def signature_badge(valid: bool) -> SafeString:
    return badge(_("valid"), "success") if valid else badge(_("invalid"), "danger")


def email_status_badge(email: EmailNotification) -> SafeString:
    return badge(email.get_status_display(), EMAIL_STATUS_TONES.get(email.status, "muted"))


def test_badge(is_test: bool) -> SafeString:
    return badge(_("test"), "warning") if is_test else badge(_("live"), "success")


def money_text(value: Decimal | None, currency: str = "USD") -> str:
    """Return ``value`` as ``$1,234.56`` (USD) or ``1,234.56 EUR``."""
    if value is None:
        return "-"
    amount = f"{Decimal(value):,.2f}"
    return f"${amount}" if currency.upper() == "USD" else f"{amount} {currency.upper()}"


def gift_card_text(code: str) -> str:
    """Return a gift-card code as staff may see it: only its last four characters."""
    if not code:
        return "-"
    return "\u2022\u2022\u2022\u2022 " + code[-4:]


def address_html(address: Mapping[str, Any] | None) -> SafeString:
    """Return a postal address as lines in its country's format, then email and phone."""
    if not address:
        return format_html("{}", "-")
    lines = [(line,) for line in address_lines(address)]
    if address.get("company"):
        lines.insert(1, (str(address["company"]),))
    for key in ("email", "phone"):
        value = str(address.get(key) or "").strip()
        if value:
            lines.append((phone_display(value) if key == "phone" else value,))
    return format_html(
        '<div class="checkout-address">{}</div>', format_html_join("", "<div>{}</div>", lines)
    )
