"""A cardholder from abroad in Chromium: the billing form turns German when Germany is
chosen, and the order goes through with that address and an international phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from checkout.models import Order

from .shopper import GOOD_CARD, add_phone_to_cart, expect_confirmation, fill_information, pay
from .shopper import type_card as type_card_number
from .test_accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_german_cardholder_buys_with_a_german_billing_address(page: Page, shop_url: str) -> None:
    add_phone_to_cart(page, shop_url)
    page.get_by_role("link", name="Check out").click()
    fill_information(page, phone="+49 30 901820")
    page.get_by_role("button", name="Continue to shipping").click()
    expect(page).to_have_url(re.compile(r"/checkout/shipping/$"))
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(re.compile(r"/checkout/payment/$"))
    page.locator("#card-element input").first.wait_for()

    page.get_by_label("Same as shipping address").uncheck()
    billing = page.locator("#billing-fields")
    expect(billing.get_by_label("State")).to_be_visible()
    billing.get_by_label("Full name").fill("Erika Mustermann")
    page.locator("#id_billing-country").focus()
    page.locator("#id_billing-country").select_option("DE")
    # The fields become Germany's: no state, the postal code before the city, and what
    # was typed is kept.
    expect(billing.get_by_label("State")).to_have_count(0)
    postcode = billing.get_by_label("Postal code")
    expect(postcode).to_be_visible()
    expect(billing.get_by_label("Full name")).to_have_value("Erika Mustermann")
    expect(page.locator("#id_billing-country")).to_be_focused()
    boxes = [billing.get_by_label(name).bounding_box() for name in ("Postal code", "City")]
    assert boxes[0]
    assert boxes[1]
    assert boxes[0]["x"] < boxes[1]["x"]
    assert_accessible(page, "payment with a German billing address")

    billing.get_by_label("Address", exact=True).fill("Heidestraße 17")
    billing.get_by_label("City").fill("Köln")
    postcode.fill("5114")  # one digit short: refused beside the field
    type_card_number(page, GOOD_CARD)
    pay(page)
    expect(page.locator("#id_billing-zip_error")).to_contain_text(
        "Enter a valid postal code, like 26133."
    )
    # The page came back with the error (and a card element to fill again).
    expect(page.get_by_label("Same as shipping address")).not_to_be_checked()
    postcode.fill("51147")
    page.locator("#card-element input").first.wait_for()
    type_card_number(page, GOOD_CARD)
    pay(page)
    expect_confirmation(page)
    billing_panel = page.get_by_role("region", name="Billing address")
    expect(billing_panel).to_contain_text("51147 Köln")
    expect(billing_panel).to_contain_text("Germany")

    order = Order.objects.get()
    assert order.billing["country"] == "DE"
    assert order.billing["zip"] == "51147"
    assert order.billing["phone"] == "+4930901820"
