"""A customer with an account in Chromium: signing in halfway through a checkout and
paying (the order is theirs, on "Your orders"), and signing out halfway and paying as a
guest. Django rotates the session key at sign-in and flushes the session at sign-out;
the checkout carries on through both."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from checkout.models import Order

from .conftest import screenshot
from .shopper import GOOD_CARD, add_phone_to_cart, expect_confirmation, fill_information, pay
from .shopper import type_card as enter_card
from .test_accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def log_in(page: Page) -> None:
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def pay_with_card(page: Page) -> str:
    page.locator("#card-element input").first.wait_for()
    enter_card(page, GOOD_CARD)
    pay(page)
    return expect_confirmation(page)


def test_logging_in_halfway_through_a_checkout_and_paying(page: Page, shop_url: str) -> None:
    get_user_model().objects.create_user("grace", "grace@example.com", PASSWORD)
    add_phone_to_cart(page, shop_url)
    page.get_by_role("link", name="Check out").click()
    fill_information(page, email="grace@example.com")
    page.get_by_role("button", name="Continue to shipping").click()
    expect(page).to_have_url(re.compile(r"/checkout/shipping/$"))

    log_in(page)  # from the shipping step: back to it, signed in
    expect(page).to_have_url(re.compile(r"/checkout/shipping/$"))
    expect(page.get_by_test_id("cart-link")).to_contain_text("1")
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(re.compile(r"/checkout/payment/$"))
    number = pay_with_card(page)

    order = Order.objects.get(order_number=number)
    assert order.user is not None
    assert order.user.username == "grace"
    page.get_by_test_id("your-orders-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your orders")
    expect(page.get_by_test_id("customer-order")).to_have_count(1)
    assert_accessible(page, "your orders")
    screenshot(page, "12-your-orders")
    page.get_by_test_id("customer-order-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {number}")

    # The next checkout starts with the account's email and this address.
    add_phone_to_cart(page, shop_url)
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_label("Email")).to_have_value("grace@example.com")
    expect(page.get_by_label("Address", exact=True)).to_have_value("1 Main St")
    expect(page.get_by_test_id("saved-address")).to_have_count(1)
    assert_accessible(page, "information with a saved address")
    screenshot(page, "13-information-signed-in")


def test_logging_out_halfway_through_a_checkout_and_paying_as_a_guest(
    page: Page, shop_url: str
) -> None:
    get_user_model().objects.create_user("grace", "grace@example.com", PASSWORD)
    page.goto(shop_url + "/")
    log_in(page)
    add_phone_to_cart(page, shop_url)
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_label("Email")).to_have_value("grace@example.com")
    fill_information(page, email="grace@example.com")
    page.get_by_role("button", name="Continue to shipping").click()
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(re.compile(r"/checkout/payment/$"))

    page.get_by_role("button", name="Log out").click()  # back to the payment step
    expect(page).to_have_url(re.compile(r"/checkout/payment/$"))
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    number = pay_with_card(page)

    assert Order.objects.get(order_number=number).user is None


def test_a_guest_finds_an_order_by_email_and_number(page: Page, shop_url: str) -> None:
    page.goto(shop_url + "/orders/lookup/")
    page.get_by_role("button", name="Email me the link").click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    assert_accessible(page, "order lookup with errors")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Order number").fill("ORD-20200101-0001")
    page.get_by_role("button", name="Email me the link").click()
    expect(page.get_by_role("status")).to_contain_text("we have sent a link")
    assert_accessible(page, "order lookup answered")
    screenshot(page, "14-order-lookup")
