"""The order summary tells the truth about money: for every promo kind the sandbox seeds
and every shipping rate, the summary's lines add up to its total, the total is what the
card is authorized for, and the API charges the same when the order is placed.

The summary is rendered from the quote exactly as the checkout pages render it
(``checkout/includes/summary.html``) and read back as a shopper reads it: "Free" is
nothing, a minus sign is a deduction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.template.loader import render_to_string

from checkout.models import CheckoutAttempt
from checkout.money import to_minor_units
from checkout.services import orders

from .support import Live

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MakeAttempt = Callable[..., CheckoutAttempt]
ROW = re.compile(r"<div[^>]*>\s*<dt>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>\s*</div>", re.S)


def summary_lines(html: str) -> list[tuple[str, Decimal]]:
    """Return the summary's (label, amount) rows in page order; the last is the total."""
    totals = html.split('data-testid="summary-totals"', 1)[1].split("</dl>", 1)[0]
    lines = []
    for label, value in ROW.findall(totals):
        label = re.sub(r"<[^>]+>", " ", label).split()[0]
        text = re.sub(r"<[^>]+>", "", value).strip()
        lines.append((label, amount(text)))
    return lines


def amount(text: str) -> Decimal:
    """Return the amount a shopper reads in ``text`` ("Free" is nothing)."""
    if text == "Free":
        return Decimal("0.00")
    match = re.fullmatch(r"(\u2212?)\$([\d,]+\.\d\d)", text)
    assert match, f"not an amount a shopper can add up: {text!r}"
    value = Decimal(match.group(2).replace(",", ""))
    return -value if match.group(1) else value


# (cart, promo, gift card): every promo kind in the seed (percentage, capped percentage,
# fixed, free shipping, category-only, minimum order) and a partial gift card. The small
# cart stays under the free-shipping threshold, so ground shipping costs money.
CASES = [
    ("small", "", ""),
    ("small", "SAVE10", ""),
    ("small", "FIVEOFF", ""),
    ("small", "FREESHIP", ""),
    ("small", "ACCESSORY50", ""),
    ("small", "FREESHIP", "CARDTENBALANCEXY"),
    ("large", "TAKE20", ""),
    ("large", "BIGSPEND100", "CARD25BALANCEABC"),
]


def _cart(live: Live, size: str) -> str:
    variants = {v.sku: v for p in live.spectra.iter_products() for v in p.variants}
    cheap = (v for v in variants.values() if v.price < Decimal("15"))
    accessory = next(v for v in cheap if v.quantity_available >= 20)
    if size == "small":
        return live.cart((accessory, 2))
    phone = live.variant(min_stock=5, max_price=400.0)
    return live.cart((phone, 2), (accessory, 1))


@pytest.mark.parametrize(("size", "promo", "gift_card"), CASES)
def test_summary_lines_add_up_to_the_amount_authorized_and_charged(
    live: Live, ready_attempt: MakeAttempt, size: str, promo: str, gift_card: str
) -> None:
    first = ready_attempt(_cart(live, size))
    codes = [r.service_code for r in orders.attempt_shipping_rates(attempt=first)]
    assert len(codes) == 7
    for index, code in enumerate(codes):
        attempt = first if index == 0 else ready_attempt(_cart(live, size))
        attempt = orders.attempt_choose_shipping(attempt=attempt, service_code=code)
        if promo:
            orders.attempt_apply_promo(attempt=attempt, code=promo)
        if gift_card:
            orders.attempt_apply_gift_card(attempt=attempt, code=gift_card)
        attempt.refresh_from_db()
        quote = orders.attempt_quote(attempt=attempt)
        lines = summary_lines(render_to_string("checkout/includes/summary.html", {"quote": quote}))
        where = f"{promo or 'no promo'} / {code}: {lines}"

        *parts, (label, total) = lines
        assert label == "Total", where
        assert sum((value for _, value in parts), Decimal("0.00")) == total, where
        if promo == "FREESHIP" and code.endswith("ground"):
            assert ("Shipping", Decimal("0.00")) in lines, where

        outcome = orders.attempt_pay(attempt=attempt, payment_method_id=live.payment_method())
        assert outcome.status == "authorized", where
        assert int(live.intent(outcome.payment_intent_id)["amount"]) == to_minor_units(
            total, currency="USD"
        ), where
        if gift_card and index < len(codes) - 1:
            continue  # placing spends the card's balance: the last rate places the order
        placed = orders.order_place(attempt=attempt)
        assert placed.status == "placed", (where, placed)
        assert placed.order is not None
        assert placed.order.amount_charged == total, where
