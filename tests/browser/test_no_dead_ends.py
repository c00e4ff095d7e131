"""A new shopper never ends on a page that tells them nothing (issue 15): back after
paying and a second tab show the order just placed; a refused promo or gift card leaves
the browser on the payment step; a failed 3-D Secure prompt is explained in the shopper's
words; the confirmation says "Free", the country and the method as a person would; the
product picture follows the chosen variant; no request ends in a 404."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Response, expect

from checkout.models import Order

from .shopper import (
    GOOD_CARD,
    THREE_DS_CARD,
    authenticate,
    expect_card_error,
    expect_confirmation,
    go_to_payment,
    pay,
    type_card,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_back_after_paying_and_a_second_tab_show_the_order(page: Page, shop_url: str) -> None:
    go_to_payment(page, shop_url)
    type_card(page, GOOD_CARD)
    pay(page)
    number = expect_confirmation(page)

    page.go_back()
    expect(page).to_have_url(re.compile(r"/cart/$"))
    recent = page.get_by_test_id("recent-order")
    expect(recent).to_contain_text(number)
    expect(page.get_by_text("Your cart is empty")).to_have_count(0)

    second = page.context.new_page()
    second.goto(shop_url + "/checkout/payment/")
    expect(second).to_have_url(re.compile(r"/cart/$"))
    second.get_by_role("link", name=f"View order {number}").click()
    expect(second.get_by_test_id("order-number")).to_have_text(number)
    assert Order.objects.count() == 1
    # The confirmation reads as a person would: ground over $99 ships free, the method
    # is not "UPS Ground (UPS)", the country is named.
    expect(second.get_by_test_id("order-shipping")).to_have_text("Free")
    expect(second.get_by_test_id("order-method")).to_have_text(re.compile(r"^(UPS|FedEx) Ground$"))
    expect(second.locator("address").first).to_contain_text("United States")


def test_a_refused_code_stays_on_the_payment_step(page: Page, shop_url: str) -> None:
    go_to_payment(page, shop_url)
    for name, code, message in (
        ("Promo code", "NOSUCHCODE", "This promo code does not exist."),
        ("Gift card number", "CARDREDEEMEDXYZW", "This gift card has no balance left."),
    ):
        field = page.get_by_role("textbox", name=name)
        field.fill(code)
        form = page.locator("form.checkout-inline-form", has=field)
        form.get_by_role("button", name="Apply").click()
        expect(page.get_by_text(message)).to_have_count(1)  # beside the field, not twice
        expect(page).to_have_url(re.compile(r"/checkout/payment/$"))
        expect(field).to_be_focused()
        # The Apply button stays beside the input, not pushed below the error.
        box, button = field.bounding_box(), form.get_by_role("button").bounding_box()
        assert box
        assert button
        assert abs((box["y"] + box["height"] / 2) - (button["y"] + button["height"] / 2)) < 4
        response = page.reload()
        assert response is not None
        assert response.status == 200
        expect(page.get_by_role("heading", name="Payment", level=1)).to_be_visible()


def test_a_failed_3d_secure_prompt_is_explained_to_the_shopper(page: Page, shop_url: str) -> None:
    go_to_payment(page, shop_url)
    type_card(page, THREE_DS_CARD)
    pay(page)
    authenticate(page, "Fail authentication")
    expect_card_error(page, "^Your bank could not authenticate this payment")
    expect(page.locator("[data-card-errors]")).not_to_contain_text("latest attempt")


def test_product_picture_follows_the_variant_and_nothing_is_missing(
    page: Page, shop_url: str
) -> None:
    missing: list[str] = []

    def record(response: Response) -> None:
        if response.status == 404:
            missing.append(response.url)

    page.on("response", record)
    page.goto(shop_url + "/")
    page.get_by_role("link", name=re.compile("iPhone 13")).first.click()
    image = page.locator(".checkout-product__media img")
    before = image.get_attribute("src")
    colors = page.locator("fieldset.checkout-option-group").first.get_by_role("radio")
    for index in range(colors.count()):
        if not colors.nth(index).is_checked():
            colors.nth(index).check()
            break
    expect(image).not_to_have_attribute("src", before or "")
    page.wait_for_load_state("networkidle")
    assert missing == []
