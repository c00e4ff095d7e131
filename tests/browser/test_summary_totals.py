"""The order summary a shopper reads is the money they pay: at every step its lines add
up to the total shown, the shipping step prices the rate that is selected, and the card
is authorized for the total the payment step showed, for each kind of promo and a gift
card (issue 15: "Free" shipping that was charged)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import stripe
from playwright.sync_api import Page, expect

from checkout.models import Order
from checkout.money import to_minor_units

from .shopper import (
    GOOD_CARD,
    add_phone_to_cart,
    expect_confirmation,
    expect_summary_adds_up,
    fill_information,
    open_summary,
    pay,
    read_amount,
    type_card,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _rate(page: Page, service: str) -> Decimal:
    """Pick the rate named ``service``; return its price as the rate list shows it."""
    label = page.locator("label.checkout-rate", has_text=service)
    label.get_by_role("radio").check()
    return read_amount(label.locator(".checkout-rate__price").inner_text())


@pytest.mark.parametrize(
    ("promo", "gift_card", "service"),
    [
        ("SAVE10", "", "UPS Ground"),  # percentage
        ("FIVEOFF", "", "FedEx 2Day"),  # fixed amount
        ("FREESHIP", "", "UPS Next Day Air"),  # free ground shipping, an express rate
        ("", "CARD25BALANCEABC", "UPS 3 Day Select"),  # part paid by gift card
    ],
)
def test_summary_adds_up_at_every_step_to_the_amount_authorized(
    page: Page,
    shop_url: str,
    localstripe_stripe_client: stripe.StripeClient,
    promo: str,
    gift_card: str,
    service: str,
) -> None:
    add_phone_to_cart(page, shop_url)
    page.get_by_role("link", name="Check out").click()
    expect(page).to_have_url(re.compile(r"/checkout/information/$"))
    expect_summary_adds_up(page)

    fill_information(page)
    page.get_by_role("button", name="Continue to shipping").click()
    expect(page).to_have_url(re.compile(r"/checkout/shipping/$"))
    # The rate selected on arrival is priced in the summary, not "Calculated at next step".
    first = page.locator("label.checkout-rate").first
    expect(page.get_by_test_id("summary-shipping")).to_have_text(
        first.locator(".checkout-rate__price").inner_text()
    )
    expect_summary_adds_up(page)
    price = _rate(page, service)
    shipping = page.get_by_test_id("summary-shipping")
    expect(shipping).to_have_text("Free" if price == 0 else f"${price:,.2f}")
    expect_summary_adds_up(page)
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(re.compile(r"/checkout/payment/$"))
    expect(page.get_by_test_id("summary-shipping")).to_have_text(shipping.inner_text())
    expect_summary_adds_up(page)

    if promo:
        page.get_by_role("textbox", name="Promo code").fill(promo)
        page.get_by_role("button", name="Apply").first.click()
        expect(page.get_by_role("textbox", name="Promo code")).to_have_count(0)
    if gift_card:
        page.get_by_role("textbox", name="Gift card number").fill(gift_card)
        page.get_by_role("button", name="Apply").nth(1).click()
        expect(page.get_by_role("textbox", name="Gift card number")).to_have_count(0)
        open_summary(page)
        expect(page.get_by_test_id("summary-gift-card")).to_be_visible()
    if promo == "FREESHIP":
        # Free shipping covers ground services: the express rate is charged and says so.
        expect(page.get_by_test_id("summary-shipping")).to_have_text(f"${price:,.2f}")
        open_summary(page)
        expect(page.get_by_test_id("summary-shipping-note")).to_be_visible()
    total = expect_summary_adds_up(page)
    expect(page.locator("[data-pay-label]")).to_have_text(f"Pay ${total:,.2f}")

    type_card(page, GOOD_CARD)
    pay(page)
    expect_confirmation(page)
    order = Order.objects.get()
    intent = localstripe_stripe_client.v1.payment_intents.retrieve(order.payment_intent_id)
    assert int(intent.amount) == to_minor_units(total, currency="USD")
    assert order.amount_charged == total
    expect(page.get_by_test_id("order-amount-charged")).to_have_text(f"${total:,.2f}")
