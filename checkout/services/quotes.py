"""The amount due for a checkout attempt, computed on the server from the API's numbers.

A ``Quote`` is built from the cart (``GET cart``), the chosen shipping rate (fetched again,
so a changed cart weight or a threshold reached is seen), ``calculate-tax``,
``validate-promo`` and the gift-card balance. Nothing here trusts the browser. The API
stays the authority when the order is placed: a quote is what we authorize on the card,
and ``POST /orders`` answers 402 if the API's own total is higher.

Promo and gift-card codes live on the attempt; applying one validates it with the API
first. A code that stopped applying (expired promo, used-up card) is dropped from the
attempt at the next quote, with the API's reason in ``promo_message``.

Every function here makes network calls and therefore never runs inside a transaction;
the figures are written back in one short UPDATE.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _

from checkout.conf import money
from checkout.exceptions import InvalidGiftCard, InvalidPromoCode, SpectraValidationError
from checkout.models import CheckoutAttempt
from checkout.services.spectra import CartItem, ShippingRate, get_spectra_client

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Quote:
    """The amount due, computed server-side from the API's numbers."""

    items: tuple[CartItem, ...]
    item_count: int
    subtotal: Decimal
    shipping_total: Decimal
    discount_total: Decimal
    tax_estimate: Decimal
    gift_card_amount: Decimal
    grand_total: Decimal
    amount_due: Decimal  # grand_total - gift_card_amount (>= 0); charged to the card
    free_shipping: bool
    promo_code: str
    promo_message: str
    gift_card_balance: Decimal | None
    shipping_rate: dict[str, Any] | None

    @property
    def payment_required(self) -> bool:
        """Return whether a card must be charged (False when a gift card covers all)."""
        return self.amount_due > ZERO


def rate_method(rate: ShippingRate) -> str:
    """Return the rate's method ("ground" or "express") as the order payload wants it."""
    method = str(rate.raw.get("method") or "")
    if method:
        return method
    return "ground" if "ground" in rate.service.lower() else "express"


def rate_to_dict(rate: ShippingRate) -> dict[str, Any]:
    """Return a rate as stored on the attempt (JSON: the price as a string)."""
    return {
        "carrier": rate.carrier,
        "service": rate.service,
        "service_code": rate.service_code,
        "method": rate_method(rate),
        "price": str(rate.price),
        "estimated_delivery": (
            rate.estimated_delivery.isoformat() if rate.estimated_delivery else None
        ),
        "transit_days": rate.transit_days,
    }


def api_address(address: dict[str, Any]) -> dict[str, Any]:
    """Return the address fields the API takes (name, address1, ..., country)."""
    keys = ("name", "address1", "address2", "city", "state", "zip", "country")
    return {k: str(address.get(k) or "") for k in keys}


def _gift_card_message(status: str, api_message: str) -> str:
    messages = {
        "not_found": _("This gift card does not exist. Check the code and try again."),
        "redeemed": _("This gift card has no balance left."),
        "expired": _("This gift card has expired."),
        "disabled": _("This gift card cannot be used."),
    }
    return messages.get(status) or api_message or _("This gift card cannot be used.")


def _tax(*, attempt: CheckoutAttempt, subtotal: Decimal, discount: Decimal) -> Decimal:
    """Return the tax estimate: the API's rate applied to the discounted subtotal.

    ``calculate-tax`` knows the cart and the state but not the promo code, and the API
    taxes the amount after discounts; so with a discount we apply its rate ourselves.
    """
    state = str(attempt.shipping_address.get("state") or "")
    if not state:
        return ZERO
    tax = get_spectra_client().calculate_tax(attempt.cart_id, shipping_state=state)
    if discount <= ZERO or tax.tax_rate <= 0:
        return tax.tax_amount
    base = max(ZERO, subtotal - discount)
    return (base * tax.tax_rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _fresh_rate(attempt: CheckoutAttempt) -> ShippingRate | None:
    """Return the chosen rate as the API prices it now, or None if it is gone."""
    code = str(attempt.shipping_rate.get("service_code") or "")
    if not code or not attempt.shipping_address:
        return None
    try:
        rates = get_spectra_client().get_shipping_rates(
            attempt.cart_id, address=api_address(attempt.shipping_address)
        )
    except SpectraValidationError:
        # Empty cart or an address the API no longer takes: no rate to charge.
        return None
    return next((r for r in rates if r.service_code == code), None)


def attempt_quote(*, attempt: CheckoutAttempt) -> Quote:
    """Return the amount due from the API's numbers; store the figures on the attempt.

    Figures are only written while the attempt is collecting: once a card is
    authorized, ``amount_due`` is the authorized amount and must not move under it.
    """
    client = get_spectra_client()
    cart = client.get_cart(attempt.cart_id)
    updates: dict[str, Any] = {}

    rate = _fresh_rate(attempt) if cart.items else None
    shipping_rate = rate_to_dict(rate) if rate else None
    if attempt.shipping_rate and shipping_rate is None:
        updates["shipping_rate"] = {}
    elif shipping_rate is not None and shipping_rate != attempt.shipping_rate:
        updates["shipping_rate"] = shipping_rate

    subtotal = money(cart.subtotal)
    discount = ZERO
    free_shipping = False
    promo_message = ""
    promo_code = attempt.promo_code
    if promo_code and cart.items:
        promo = client.validate_promo(attempt.cart_id, code=promo_code, email=attempt.email)
        promo_message = promo.message
        if promo.valid:
            discount = min(money(promo.discount_amount), subtotal)
            free_shipping = promo.free_shipping
        else:
            logger.info(
                "attempt %s: promo %s dropped (%s)", attempt.public_id, promo_code, promo.message
            )
            promo_code = ""
            updates["promo_code"] = ""

    shipping_total = money(rate.price) if rate else ZERO
    if free_shipping and rate is not None and rate_method(rate) == "ground":
        # The API's free-shipping promos cover ground services only.
        shipping_total = ZERO
    tax = _tax(attempt=attempt, subtotal=subtotal, discount=discount) if cart.items else ZERO
    grand_total = max(ZERO, subtotal + shipping_total - discount + tax)

    gift_card_amount = ZERO
    gift_card_balance: Decimal | None = None
    if attempt.gift_card_code:
        card = client.validate_gift_card(attempt.gift_card_code)
        if card.valid:
            gift_card_balance = money(card.balance)
            gift_card_amount = min(gift_card_balance, grand_total)
        else:
            logger.info("attempt %s: gift card dropped (%s)", attempt.public_id, card.status)
            updates["gift_card_code"] = ""
    amount_due = grand_total - gift_card_amount

    quote = Quote(
        items=cart.items,
        item_count=cart.item_count,
        subtotal=subtotal,
        shipping_total=shipping_total,
        discount_total=discount,
        tax_estimate=tax,
        gift_card_amount=gift_card_amount,
        grand_total=grand_total,
        amount_due=amount_due,
        free_shipping=free_shipping,
        promo_code=promo_code,
        promo_message=promo_message,
        gift_card_balance=gift_card_balance,
        shipping_rate=shipping_rate,
    )
    updates.update(
        subtotal=subtotal,
        shipping_total=shipping_total,
        discount_total=discount,
        tax_estimate=tax,
        gift_card_amount=gift_card_amount,
        amount_due=amount_due,
    )
    written = CheckoutAttempt.objects.filter(
        pk=attempt.pk, state=CheckoutAttempt.State.COLLECTING
    ).update(**updates)
    if written:
        for name, value in updates.items():
            setattr(attempt, name, value)
    return quote


def promo_validate(*, attempt: CheckoutAttempt, code: str) -> str:
    """Return the normalized code if the API accepts it for this cart; else raise."""
    normalized = code.strip().upper()
    if not normalized:
        raise InvalidPromoCode(_("Enter a promo code."), code="promo_empty", field="code")
    promo = get_spectra_client().validate_promo(
        attempt.cart_id, code=normalized, email=attempt.email
    )
    if not promo.valid:
        raise InvalidPromoCode(
            promo.message or _("This promo code does not apply to your order."),
            code="invalid_promo_code",
            field="code",
        )
    return promo.code or normalized


def gift_card_validate(*, code: str) -> str:
    """Return the normalized code if the card has a usable balance; else raise."""
    normalized = "".join(code.split()).replace("-", "").upper()
    if not normalized:
        raise InvalidGiftCard(_("Enter a gift card code."), code="gift_card_empty", field="code")
    card = get_spectra_client().validate_gift_card(normalized)
    if not card.valid or card.balance <= ZERO:
        message = _gift_card_message(card.status, str(card.raw.get("message") or ""))
        raise InvalidGiftCard(message, code="invalid_gift_card", field="code")
    return normalized
