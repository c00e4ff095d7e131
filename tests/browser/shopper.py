"""What a shopper does, step by step, in the browser (shared by the browser tests)."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import Page, expect

from .conftest import is_phone

ADDRESS = {
    "email": "shopper@example.com",
    "name": "Ada Lovelace",
    "address1": "1 Main St",
    "city": "New York",
    "state": "NY",
    "zip": "10001",
    "phone": "212-555-0100",
}
GOOD_CARD = "4242424242424242"
THREE_DS_CARD = "4000002500003155"
DECLINED_CARD = "4000000000000341"


def add_phone_to_cart(page: Page, base: str, product: str = "iPhone 13") -> None:
    page.goto(base + "/")
    page.get_by_role("link", name=re.compile(product)).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(product)
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart/$"))


def fill_information(page: Page, **overrides: str) -> None:
    data = {**ADDRESS, **overrides}
    page.get_by_label("Email").fill(data["email"])
    page.get_by_label("Full name").fill(data["name"])
    page.get_by_label("Address", exact=True).fill(data["address1"])
    page.get_by_label("City").fill(data["city"])
    page.get_by_label("State").select_option(data["state"])
    page.get_by_label("ZIP code").fill(data["zip"])
    page.get_by_label("Phone").fill(data["phone"])


def go_to_payment(page: Page, base: str) -> None:
    add_phone_to_cart(page, base)
    page.get_by_role("link", name="Check out").click()
    fill_information(page)
    page.get_by_role("button", name="Continue to shipping").click()
    expect(page).to_have_url(re.compile(r"/checkout/shipping/$"))
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(re.compile(r"/checkout/payment/$"))
    page.locator("#card-element input").first.wait_for()


def type_card(page: Page, number: str) -> None:
    inputs = page.locator("#card-element input")
    for index in range(5):
        inputs.nth(index).fill("")
    inputs.nth(0).click()
    inputs.nth(0).type(number)  # 16 digits, no spaces: the fake element moves on after 16
    inputs.nth(1).fill("12")
    inputs.nth(2).fill("34")
    inputs.nth(3).fill("123")
    inputs.nth(4).fill("10001")


def pay(page: Page) -> None:
    page.locator("[data-pay-button]").click()


def expect_confirmation(page: Page) -> str:
    expect(page).to_have_url(re.compile(r"/checkout/confirmation/"), timeout=20_000)
    number = page.get_by_test_id("order-number")
    expect(number).to_have_text(re.compile(r"^ORD-\d{8}-\d{4}$"))
    return str(number.text_content())


def expect_card_error(page: Page, pattern: str) -> None:
    errors = page.locator("[data-card-errors]")
    expect(errors).to_have_text(re.compile(pattern, re.IGNORECASE), timeout=20_000)
    expect(page.locator("[data-pay-button]")).to_be_enabled()


def authenticate(page: Page, *answers: str) -> None:
    """Answer the fake 3-D Secure modals in order.

    With localstripe, card 4000002500003155 asks twice: once when the SetupIntent is
    confirmed and once for the PaymentIntent (``confirmCardPayment``).
    """
    for answer in answers:
        page.get_by_role("button", name=answer).click()


def read_amount(text: str) -> Decimal:
    """Return the amount a shopper reads ("Free" and "Calculated at next step" are nothing)."""
    text = text.strip()
    if text in ("Free", "Calculated at next step"):
        return Decimal("0.00")
    match = re.fullmatch(r"(\u2212?)\$([\d,]+\.\d\d)", text)
    assert match, f"not an amount a shopper can add up: {text!r}"
    value = Decimal(match.group(2).replace(",", ""))
    return -value if match.group(1) else value


def open_summary(page: Page) -> None:
    """Open the order summary as a shopper on a phone does (it is always open on a desktop)."""
    if not is_phone(page):
        return
    toggle = page.locator("[data-summary-toggle]")
    expect(toggle).to_be_visible()
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_test_id("summary-totals")).to_be_visible()


def summary_lines(page: Page) -> list[tuple[str, Decimal]]:
    """Return the order summary's (label, amount) rows as shown, in page order."""
    open_summary(page)
    rows = page.get_by_test_id("summary-totals").locator(":scope > div")
    lines = []
    for index in range(rows.count()):
        row = rows.nth(index)
        lines.append((row.locator("dt").inner_text(), read_amount(row.locator("dd").inner_text())))
    return lines


def expect_summary_adds_up(page: Page) -> Decimal:
    """Check that the summary's lines add up to its total; return that total."""
    *parts, (label, total) = summary_lines(page)
    assert label == "Total due", label
    assert sum((v for _, v in parts), Decimal("0.00")) == total, (page.url, parts, total)
    return total
