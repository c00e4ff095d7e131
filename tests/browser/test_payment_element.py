"""The Payment Element's browser glue in Chromium: checkout.js against the test kit's
double of Stripe.js (``checkout/testing/stripejs``), served where the page asks for
Stripe.js; Stripe's API answers come from the test kit too (localstripe cannot run the
Payment Element), and the sandbox is the real one (documented contract)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from playwright.sync_api import Page, expect

from checkout.models import Order
from checkout.money import to_minor_units
from checkout.services.payments import clear_stripe_clients
from checkout.testing.payment_element import StripeAnswers, serve_payment_element_double

from .shopper import (
    GOOD_CARD,
    THREE_DS_CARD,
    add_phone_to_cart,
    expect_card_error,
    expect_confirmation,
    fill_information,
    pay,
    read_amount,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("sandbox_contract", ["documented"], indirect=True),
]

STRIPE_JS = "https://js.stripe.com/v3/"
DECLINED = "4000000000000002"  # Stripe's generic decline (the double's token names it)


@pytest.fixture
def stripe(shop_url: str, settings: Any, page: Page) -> Iterator[StripeAnswers]:
    """The app on Stripe with the Payment Element; Stripe answered in this process."""
    settings.CHECKOUT_PAYMENT_UI = "payment_element"
    settings.CHECKOUT_STRIPE_API_BASE = None
    settings.CHECKOUT_STRIPE_SECRET_KEY = "sk_test_payment_element"
    settings.CHECKOUT_STRIPE_PUBLISHABLE_KEY = "pk_test_payment_element"
    settings.CHECKOUT_STRIPE_JS_URL = STRIPE_JS
    clear_stripe_clients()
    serve_payment_element_double(page, STRIPE_JS)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        # The live server's calls to the sandbox go through; Stripe's are answered here.
        mock.add_passthru(re.compile(r"http://(127\.0\.0\.1|localhost)(:\d+)?/"))
        yield StripeAnswers(mock)
    clear_stripe_clients()


def _to_payment(page: Page, base: str) -> None:
    add_phone_to_cart(page, base)
    page.get_by_role("link", name="Check out").click()
    fill_information(page)
    page.get_by_role("button", name="Continue to shipping").click()
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(re.compile(r"/checkout/payment/$"))
    page.get_by_label("Payment details (test double)").wait_for()


def _calls(page: Page) -> list[str]:
    return [name for name, _ in page.evaluate("window.__stripeDouble.calls")]


def test_the_payment_element_pays_with_three_d_secure_asked_once(
    page: Page, shop_url: str, stripe: StripeAnswers
) -> None:
    _to_payment(page, shop_url)
    total = read_amount(page.get_by_test_id("summary-total").inner_text())
    # Deferred intent mode, for the amount the page shows, collected for manual capture.
    options = page.evaluate("window.__stripeDouble.elementsOptions")
    assert options == {
        "mode": "payment",
        "amount": to_minor_units(total, currency="USD"),
        "currency": "usd",
        "captureMethod": "manual",
        "paymentMethodCreation": "manual",
        "paymentMethodTypes": ["card", "link"],
    }
    assert _calls(page)[:4] == [
        "Stripe",
        "stripe.elements",
        "elements.create",
        "paymentElement.mount",
    ]

    # Nothing entered: the Payment Element's own message, and no request to the shop.
    pay(page)
    expect_card_error(page, "Your card number is incomplete")
    assert stripe.created == []

    page.get_by_label("Payment details (test double)").fill(THREE_DS_CARD)
    pay(page)
    dialog = page.get_by_role("dialog", name="3-D Secure (test double)")
    expect(dialog).to_be_visible()
    expect(page.locator("[data-pay-button]")).to_be_disabled()
    assert _calls(page)[-3:] == [
        "elements.submit",
        "stripe.createConfirmationToken",
        "stripe.handleNextAction",
    ]
    (pi_id,) = stripe.intents
    handle = page.evaluate("window.__stripeDouble.calls")[-1][1]
    assert handle == {"clientSecret": stripe.intents[pi_id]["client_secret"]}
    stripe.authenticate(pi_id)  # what the bank records when the shopper completes it
    dialog.get_by_role("button", name="Complete authentication").click()
    expect_confirmation(page)

    # One PaymentIntent, one authentication, for the server's amount, captured once the
    # order existed.
    (sent,) = stripe.created
    assert sent["confirmation_token"] == "ctoken_" + THREE_DS_CARD
    assert sent["capture_method"] == "manual"
    assert sent["amount"] == str(to_minor_units(total, currency="USD"))
    order = Order.objects.get()
    assert order.attempt is not None
    assert order.attempt.payment_intent_id == pi_id
    assert stripe.captured == [pi_id]


def test_a_declined_card_is_explained_then_another_card_pays(
    page: Page, shop_url: str, stripe: StripeAnswers
) -> None:
    _to_payment(page, shop_url)
    field = page.get_by_label("Payment details (test double)")
    field.fill(DECLINED)
    pay(page)
    expect_card_error(page, "Your card was declined. Try another card or contact your bank.")
    expect(field).to_be_focused()
    field.fill(GOOD_CARD)
    pay(page)
    expect_confirmation(page)
    assert [c["confirmation_token"] for c in stripe.created] == [
        "ctoken_" + DECLINED,
        "ctoken_" + GOOD_CARD,
    ]
    # A new PaymentIntent for the second card (a declined one cannot be reused), each for
    # the server's amount.
    assert stripe.created[0]["amount"] == stripe.created[1]["amount"]
    assert len(stripe.intents) == 2
