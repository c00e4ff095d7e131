"""Phones first and money in the shopper's language (issue 19): on a phone the order
summary folds to one line (the total and a button that opens it), on a desktop it is
always open; prices read as the shopper's language writes them, the same from the server
(babel) as from the page's script (Intl.NumberFormat)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from checkout.money import format_money

from .conftest import is_phone, open_context, screenshot
from .shopper import add_phone_to_cart, fill_information

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# "1.234,56 $": German groups thousands with dots and puts the dollar sign last.
GERMAN_DOLLARS = re.compile(r"^\d{1,3}(\.\d{3})*,\d\d\xa0\$$")


def test_the_order_summary_folds_to_one_line_on_a_phone(page: Page, shop_url: str) -> None:
    add_phone_to_cart(page, shop_url)
    page.get_by_role("link", name="Check out").click()
    expect(page).to_have_url(re.compile(r"/checkout/information/$"))
    toggle = page.locator("[data-summary-toggle]")
    totals = page.get_by_test_id("summary-totals")
    total = page.get_by_test_id("summary-total").text_content() or ""
    if not is_phone(page):
        # A desktop has room: the summary stands open beside the form, with no button.
        expect(toggle).to_be_hidden()
        expect(totals).to_be_visible()
        return

    # One line above the form: the amount due and a button, the lines folded away.
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_accessible_name(re.compile(r"^Show order summary"))
    expect(page.get_by_test_id("summary-toggle-total")).to_have_text(total)
    expect(totals).to_be_hidden()
    box = toggle.bounding_box()
    form = page.get_by_label("Email").bounding_box()
    assert box
    assert form
    assert 44 <= box["height"] < 80, box  # a tap target, and one line
    assert box["y"] < form["y"], "the summary line comes before the form"
    screenshot(page, "04c-information-summary-folded", full_page=False)

    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(toggle).to_have_accessible_name(re.compile(r"^Hide order summary"))
    expect(totals).to_be_visible()
    expect(page.get_by_test_id("summary-total")).to_be_visible()
    screenshot(page, "04d-information-summary-open", full_page=False)
    # The keyboard folds it again.
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(totals).to_be_hidden()

    # The folded line follows the rate the shopper picks on the shipping step.
    fill_information(page)
    page.get_by_role("button", name="Continue to shipping").click()
    expect(page).to_have_url(re.compile(r"/checkout/shipping/$"))
    before = page.get_by_test_id("summary-toggle-total").text_content()
    page.locator("label.checkout-rate").last.get_by_role("radio").check()
    expect(page.get_by_test_id("summary-toggle-total")).not_to_have_text(before or "")
    expect(page.get_by_test_id("summary-toggle-total")).to_have_text(
        page.get_by_test_id("summary-total").text_content() or ""
    )


@pytest.fixture
def german_page(browser: Browser, device: str, settings: Any) -> Any:
    """A page whose browser asks for German, on a site whose default language is German
    (so the test holds with or without ``LocaleMiddleware`` in the host project)."""
    settings.LANGUAGE_CODE = "de"
    context = open_context(browser, device, locale="de-DE")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_prices_read_in_german_from_the_server_and_the_script(
    german_page: Page, shop_url: str
) -> None:
    page = german_page
    page.goto(shop_url + "/products/1/")
    variants = json.loads(page.locator("#variants-data").text_content() or "null")
    price = page.locator("[data-variant-price]")
    # The server's price (babel) for the variant chosen on arrival.
    expect(price).to_have_text(GERMAN_DOLLARS)
    # Another variant: the script writes its price (Intl.NumberFormat) the same way.
    shown = price.text_content()
    other = next(
        v
        for v in variants
        if v["in_stock"]
        and format_money(Decimal(v["price"]), currency="USD", language="de") != shown
    )
    for value in other["attributes"].values():
        if value:
            page.get_by_role("radio", name=value, exact=True).check()
    expect(price).to_have_text(format_money(Decimal(other["price"]), currency="USD", language="de"))

    page.locator("[data-add-button]").click()
    expect(page).to_have_url(re.compile(r"/cart/$"))
    expect(page.get_by_test_id("cart-subtotal")).to_have_text(
        format_money(Decimal(other["price"]), currency="USD", language="de")
    )
    page.goto(shop_url + "/checkout/information/")
    expect(page.get_by_test_id("summary-subtotal")).to_have_text(GERMAN_DOLLARS)
    expect(page.get_by_test_id("summary-total")).to_have_text(GERMAN_DOLLARS)
    screenshot(page, "04e-information-german")
