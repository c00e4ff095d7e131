"""A new shopper in Chromium: product page to confirmation, 3-D Secure, declines,
promo codes, gift cards, a double click, validation errors and the keyboard."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from checkout.models import CheckoutAttempt, Order

from .conftest import screenshot
from .shopper import (
    DECLINED_CARD,
    GOOD_CARD,
    THREE_DS_CARD,
    add_phone_to_cart,
    authenticate,
    expect_card_error,
    expect_confirmation,
    fill_information,
    go_to_payment,
    open_summary,
    pay,
    type_card,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_happy_path_from_product_page_to_confirmation(page: Page, shop_url: str) -> None:
    page.goto(shop_url + "/")
    screenshot(page, "01-product-list", full_page=False)
    page.get_by_role("link", name=re.compile("iPhone 13")).first.click()
    # A sold-out variant is shown but cannot be added. The locator waits for the product
    # page's data (the click returns once navigation starts, not when the page is parsed).
    variants = json.loads(page.locator("#variants-data").text_content() or "null")
    sold_out = next(v for v in variants if not v["in_stock"])
    for value in sold_out["attributes"].values():
        if value:
            page.get_by_role("radio", name=value, exact=True).check()
    add = page.locator("[data-add-button]")
    expect(add).to_be_disabled()
    expect(add).to_have_text("Sold out")
    expect(page.locator("[data-variant-stock]")).to_have_text("Sold out")
    # Pick an in-stock one: the price follows the choice.
    in_stock = next(v for v in variants if v["in_stock"] and v["attributes"]["storage"] == "256GB")
    for value in in_stock["attributes"].values():
        if value:
            page.get_by_role("radio", name=value, exact=True).check()
    expect(add).to_be_enabled()
    expect(page.locator("[data-variant-price]")).to_have_text(
        "$" + f"{Decimal(in_stock['price']):,.2f}"
    )
    screenshot(page, "02-product-page")
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart/$"))
    expect(page.get_by_test_id("cart-link")).to_contain_text("1")
    screenshot(page, "03-cart")

    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_role("navigation", name="Checkout steps")).to_contain_text("Payment")
    fill_information(page)
    screenshot(page, "04-information")
    page.get_by_role("button", name="Continue to shipping").click()

    expect(page).to_have_url(re.compile(r"/checkout/shipping/$"))
    rates = page.locator(".checkout-rate")
    assert rates.count() >= 3
    expect(rates.first.locator("input")).to_be_checked()
    prices = [
        Decimal(re.sub(r"[^\d.]", "", t) or "0")
        for t in page.locator(".checkout-rate__price").all_text_contents()
    ]
    assert prices == sorted(prices)
    screenshot(page, "05-shipping")
    page.get_by_role("button", name="Continue to payment").click()

    expect(page).to_have_url(re.compile(r"/checkout/payment/$"))
    expect(page.get_by_test_id("summary-total")).to_have_text(re.compile(r"^\$[\d,]+\.\d\d$"))
    type_card(page, GOOD_CARD)
    screenshot(page, "06-payment")
    pay(page)
    number = expect_confirmation(page)
    expect(page.get_by_text("1 Main St").first).to_be_visible()
    screenshot(page, "07-confirmation")

    order = Order.objects.get()
    assert order.order_number == number
    assert order.amount_charged == order.grand_total > 0
    # Refreshing is safe, and the header cart is empty again.
    page.reload()
    expect(page.get_by_test_id("order-number")).to_have_text(number)
    expect(page.get_by_test_id("cart-link")).to_contain_text("0")
    assert Order.objects.count() == 1

    # The signed status link works.
    page.get_by_test_id("status-link").click()
    expect(page.get_by_test_id("order-status")).to_be_visible()
    screenshot(page, "08-order-status")


def test_validation_errors_beside_fields_keep_input(page: Page, shop_url: str) -> None:
    add_phone_to_cart(page, shop_url)
    page.get_by_role("link", name="Check out").click()
    fill_information(page, zip="1234", email="ada@example")
    page.get_by_label("Full name").fill("")
    page.get_by_role("button", name="Continue to shipping").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    zip_input = page.get_by_label("ZIP code")
    expect(zip_input).to_have_value("1234")
    expect(zip_input).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_zip_error")).to_contain_text("Enter a valid ZIP code")
    expect(page.get_by_label("Address", exact=True)).to_have_value("1 Main St")
    expect(page.get_by_label("Phone")).to_have_value("212-555-0100")
    # The summary links to the field.
    summary.get_by_role("link", name=re.compile("ZIP code")).click()
    expect(zip_input).to_be_focused()
    screenshot(page, "04b-information-errors")
    fill_information(page)
    page.get_by_role("button", name="Continue to shipping").click()
    expect(page).to_have_url(re.compile(r"/checkout/shipping/$"))


def test_3d_secure_completed(page: Page, shop_url: str) -> None:
    go_to_payment(page, shop_url)
    type_card(page, THREE_DS_CARD)
    pay(page)
    authenticate(page, "Complete authentication", "Complete authentication")
    expect_confirmation(page)
    assert Order.objects.count() == 1


def test_3d_secure_failed_then_retry(page: Page, shop_url: str) -> None:
    go_to_payment(page, shop_url)
    # Failing the bank's check on the card itself.
    type_card(page, THREE_DS_CARD)
    pay(page)
    page.get_by_role("button", name="Fail authentication").wait_for()
    screenshot(page, "06b-3d-secure-modal", full_page=False)
    authenticate(page, "Fail authentication")
    expect_card_error(page, "authenticat")
    # Failing it for the payment: the server sees the PaymentIntent is not authorized.
    type_card(page, THREE_DS_CARD)
    pay(page)
    authenticate(page, "Complete authentication", "Fail authentication")
    expect_card_error(page, ".")
    screenshot(page, "06c-3d-secure-failed")
    assert Order.objects.count() == 0
    # Trying again works.
    type_card(page, THREE_DS_CARD)
    pay(page)
    authenticate(page, "Complete authentication", "Complete authentication")
    expect_confirmation(page)
    assert Order.objects.count() == 1


def test_declined_card_then_a_good_one(page: Page, shop_url: str) -> None:
    go_to_payment(page, shop_url)
    type_card(page, DECLINED_CARD)
    pay(page)
    expect_card_error(page, "declined|another card")
    screenshot(page, "06d-card-declined")
    assert Order.objects.count() == 0
    type_card(page, GOOD_CARD)
    pay(page)
    expect_confirmation(page)
    assert Order.objects.count() == 1
    assert CheckoutAttempt.objects.get().payment_tries == 2


def test_promo_code(page: Page, shop_url: str) -> None:
    go_to_payment(page, shop_url)
    total_before = page.get_by_test_id("summary-total").text_content()
    page.get_by_role("textbox", name="Promo code").fill("NOSUCHCODE")
    page.get_by_role("button", name="Apply").first.click()
    expect(page.locator("#id_promo-code_error")).to_be_visible()
    expect(page.get_by_role("textbox", name="Promo code")).to_have_value("NOSUCHCODE")
    page.get_by_role("textbox", name="Promo code").fill("SAVE10")
    page.get_by_role("button", name="Apply").first.click()
    expect(page.get_by_role("textbox", name="Promo code")).to_have_count(0)
    open_summary(page)
    expect(page.get_by_test_id("summary-discount")).to_be_visible()
    assert page.get_by_test_id("summary-total").text_content() != total_before
    screenshot(page, "06e-promo-code")
    page.locator("#card-element input").first.wait_for()
    type_card(page, GOOD_CARD)
    pay(page)
    expect_confirmation(page)
    order = Order.objects.get()
    assert order.discount_total > 0
    assert order.promo_code == "SAVE10"


def test_gift_card(page: Page, shop_url: str) -> None:
    go_to_payment(page, shop_url)
    page.get_by_role("textbox", name="Gift card number").fill("CARD25BALANCEABC")
    page.get_by_role("button", name="Apply").nth(1).click()
    expect(page.get_by_test_id("summary-gift-card")).to_have_text("\u2212$25.00")
    expect(page.get_by_test_id("gift-card-balance")).to_contain_text("$25.00")
    screenshot(page, "06f-gift-card")
    type_card(page, GOOD_CARD)
    pay(page)
    expect_confirmation(page)
    order = Order.objects.get()
    assert order.gift_card_total == Decimal("25.00")
    assert order.amount_charged == order.grand_total - Decimal("25.00")


def test_double_click_on_pay_yields_one_order(page: Page, shop_url: str) -> None:
    go_to_payment(page, shop_url)
    type_card(page, GOOD_CARD)
    page.locator("[data-pay-button]").dblclick()
    expect_confirmation(page)
    # A second place request (another tab, a replay) gets the same order back.
    again = page.evaluate(
        """async () => {
            const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
            const r = await fetch('/checkout/place/', {method: 'POST', body: '{}',
              headers: {'Content-Type': 'application/json', 'X-CSRFToken': token}});
            return {status: r.status, body: await r.json()};
        }"""
    )
    assert again["status"] < 500
    assert Order.objects.count() == 1
    assert CheckoutAttempt.objects.get().payment_tries == 1


def test_keyboard_only_checkout(page: Page, shop_url: str) -> None:
    add_phone_to_cart(page, shop_url)
    checkout_link = page.get_by_role("link", name="Check out")
    checkout_link.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/checkout/information/$"))
    page.get_by_label("Email").focus()
    for value in ("shopper@example.com", "212-555-0100"):
        page.keyboard.type(value)
        page.keyboard.press("Tab")
    # Country (a select) is next: keep the default.
    page.keyboard.press("Tab")
    for value in ("Ada Lovelace", "1 Main St", "", "New York"):
        page.keyboard.type(value)
        page.keyboard.press("Tab")
    page.keyboard.type("New York")  # the state select jumps to the typed option
    page.keyboard.press("Tab")
    page.keyboard.type("10001")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/checkout/shipping/$"))
    page.get_by_role("button", name="Continue to payment").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/checkout/payment/$"))
    page.locator("#card-element input").first.focus()
    page.keyboard.type(GOOD_CARD)  # focus moves to the month by itself
    for value in ("12", "34", "123", "10001"):
        page.keyboard.type(value)
        if value != "10001":
            expect(page.locator("#card-element input:focus")).to_have_count(1)
    page.locator("[data-pay-button]").focus()
    page.keyboard.press("Enter")
    expect_confirmation(page)


def test_gift_card_covering_everything_needs_no_card(page: Page, shop_url: str) -> None:
    go_to_payment(page, shop_url)
    page.get_by_role("textbox", name="Gift card number").fill("CARDHUGEBALANCEX")
    page.get_by_role("button", name="Apply").nth(1).click()
    expect(page.get_by_test_id("summary-total")).to_have_text("$0.00")
    expect(page.locator("#card-element")).to_be_hidden()
    pay(page)
    expect_confirmation(page)
    order = Order.objects.get()
    assert order.amount_charged == 0
    assert order.gift_card_total == order.grand_total
