"""A shopper on a merchant's own site in Chromium: the merchant's product page (the
``checkout_add_to_cart`` tag) into the checkout mounted under ``checkout/``, paid, and
"Continue shopping" back to the merchant's home page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from checkout.models import Order
from checkout.services.spectra import get_spectra_client

from .shopper import GOOD_CARD, expect_confirmation, fill_information, pay, type_card

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_buy_from_the_merchants_own_product_page(page: Page, shop_url: str, settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.integration.web.merchant_site"
    settings.CHECKOUT_SHOP_NAME = "Acme Phones"
    variant = next(v for v in get_spectra_client().get_product(2).variants if v.in_stock)

    page.goto(f"{shop_url}/mine/{variant.id}/?sku={variant.sku}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Merchant product")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(rf"/mine/{variant.id}/\?sku="))  # next: back there
    page.get_by_role("button", name="Buy by SKU").click()
    expect(page).to_have_url(re.compile(r"/checkout/cart/$"))
    expect(page).to_have_title("Your cart · Acme Phones")
    # The merchant's bare page shows no messages: both adds' messages wait for the cart.
    expect(page.get_by_text("was added to your cart")).to_have_count(2)
    expect(page.get_by_test_id("cart-link")).to_contain_text("3")

    page.get_by_role("link", name="Check out").click()
    expect(page).to_have_url(re.compile(r"/checkout/checkout/information/$"))
    fill_information(page)
    page.get_by_role("button", name="Continue to shipping").click()
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(re.compile(r"/checkout/checkout/payment/$"))
    page.locator("#card-element input").first.wait_for()
    type_card(page, GOOD_CARD)
    pay(page)
    number = expect_confirmation(page)
    order = Order.objects.get(order_number=number)
    assert order.status
    expect(page).to_have_title(re.compile(r"· Acme Phones$"))

    page.get_by_role("link", name="Continue shopping").click()
    expect(page).to_have_url(shop_url + "/")
    expect(page.locator("body")).to_have_text("Merchant home")
