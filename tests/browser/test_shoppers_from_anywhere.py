"""Issue 19's done-when, one whole purchase each: a German shopper on a phone (390x844,
``Accept-Language: de``) and an English one on a desktop (1280x800) buy on the demo, from
the product list to the confirmation email.

On every page the shopper reads their own language (the catalogs' words, and no string
of the catalogs left in another language), money as their language writes it (babel on
the amounts the API gave and the order ends with), and axe finds nothing serious; each
step is photographed into ``docs/screenshots/<language>-<device>/`` (``make screenshots``).
The confirmation email is written in the order's language, with its money and the
cardholder's address in that country's format.

The demo's Spectra ships to US addresses only (the sandbox refuses others with
``unsupported_destination``), so the German shopper ships to New York and pays with a
German billing address; their German phone number, typed the national way, is first
read as a US one (the shipping country's) and refused in German with the hint to start
it with +49.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from babel.dates import format_skeleton
from babel.numbers import format_currency
from django.core import mail
from django.utils import translation
from django_countries import countries
from playwright.sync_api import Browser, Page, expect

from checkout.addresses import phone_example
from checkout.models import CheckoutAttempt, Order
from checkout.services.spectra import Variant, get_spectra_client
from tests.unit.test_translations import CATALOG_DIRS, read_po

from .conftest import ROOT, open_context, screenshot
from .shopper import ADDRESS, GOOD_CARD, expect_confirmation, open_summary, pay, type_card
from .test_accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRODUCT = "iPhone 13"
CURRENCY = "USD"  # the API's


@dataclass(frozen=True)
class Purchase:
    """One shopper's purchase: their language and window, and what they type."""

    language: str
    device: str
    phones: tuple[str, ...]  # the phone as typed, try after try (all but the last refused)
    phone_e164: str  # what the order sends to Spectra
    billing: Mapping[str, str] = field(default_factory=dict)  # none: same as shipping
    billing_lines: tuple[str, ...] = ()  # the billing address as its country writes it

    @property
    def folder(self) -> str:
        return f"{self.language}-{self.device}"

    def says(self, msgid: str, **values: str) -> str:
        """Return what the shopper reads for ``msgid``: the catalog's text, filled in."""
        with translation.override(self.language):
            text = translation.gettext(msgid)
        if self.language != "en":
            assert text != msgid, f"the {self.language} catalog has no {msgid!r}"
        return text % values if values else text

    def money(self, amount: Decimal) -> str:
        """Return ``amount`` as the shopper's language writes it, by CLDR (babel)."""
        return str(format_currency(amount, CURRENCY, locale=self.language))


GERMAN = Purchase(
    language="de",
    device="phone",
    phones=("030 1234567", "+49 30 1234567"),
    phone_e164="+49301234567",
    billing={
        "name": "Erika Mustermann",
        "address1": "Invalidenstraße 117",
        "zip": "10115",
        "city": "Berlin",
        "country": "DE",
    },
    billing_lines=("Erika Mustermann", "Invalidenstraße 117", "10115 Berlin", "Deutschland"),
)
ENGLISH = Purchase(
    language="en",
    device="desktop",
    phones=(ADDRESS["phone"],),
    phone_e164="+12125550100",
    billing_lines=("Ada Lovelace", "1 Main St", "New York, NY 10001", "United States of America"),
)


@functools.cache
def translated(language: str) -> dict[str, str]:
    """Return the catalogs' whole strings (no placeholders) whose ``language`` text differs
    from the English: {English: translation}."""
    strings: dict[str, str] = {}
    for directory in CATALOG_DIRS:
        for entry in read_po(ROOT / directory / language / "LC_MESSAGES" / "django.po"):
            text = entry.msgstr.get(0, "")
            whole = entry.msgid_plural is None and "%" not in entry.msgid
            if entry.msgid and whole and text and text != entry.msgid:
                strings[entry.msgid] = text
    return strings


# Every text a shopper reads or hears on the page: text nodes (hidden ones too: the
# script shows them), accessible names and placeholders, the title. A part marked as
# another language (the switcher's "English" on a German page) is that language's.
PAGE_TEXTS_JS = """() => {
  const language = document.documentElement.lang.split("-")[0];
  const ours = (el) => {
    const marked = el.closest("[lang]");
    return !marked || marked.lang.split("-")[0] === language;
  };
  const texts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!el || el.closest("script, style, template") || !ours(el)) continue;
    texts.push(walker.currentNode.textContent);
  }
  for (const el of document.querySelectorAll("[aria-label], [placeholder], [title], img[alt]")) {
    if (!ours(el)) continue;
    for (const name of ["aria-label", "placeholder", "title", "alt"]) {
      if (el.hasAttribute(name)) texts.push(el.getAttribute(name));
    }
  }
  return texts.map((t) => t.replace(/\\s+/g, " ").trim()).filter(Boolean);
}"""


def other_language_texts(page: Page, purchase: Purchase) -> list[str]:
    """Return the page's texts that are a catalog string in another language than the
    shopper's: English left on a German page, German or French on an English one."""
    if purchase.language == "en":
        foreign = {t for language in ("de", "fr") for t in translated(language).values()}
    else:
        foreign = set(translated(purchase.language))
    with translation.override(purchase.language):
        # Country names are django-countries' words, not ours: German calls Iceland
        # "Island", which is also the English of a region type.
        foreign -= {str(name) for _code, name in countries}
    texts: list[str] = page.evaluate(PAGE_TEXTS_JS)
    return sorted({text for text in texts if text in foreign})


def check_page(page: Page, purchase: Purchase, step: str) -> None:
    """What every page of the purchase must be: the shopper's language, axe, a screenshot."""
    expect(page.locator("html")).to_have_attribute("lang", purchase.language)
    left = other_language_texts(page, purchase)
    assert not left, f"{step}: not in {purchase.language}: {left}"
    assert_accessible(page, f"{purchase.folder} {step}")
    screenshot(page, step, folder=purchase.folder)


def cheapest_in_stock(name: str) -> tuple[Variant, bool]:
    """Return the product's cheapest variant in stock (the price its card shows) and
    whether its variants in stock have several prices (the card then says "From")."""
    product = next(p for p in get_spectra_client().iter_products() if p.name == name)
    in_stock = [v for v in product.variants if v.in_stock]
    return min(in_stock, key=lambda v: v.price), len({v.price for v in in_stock}) > 1


def confirmation_email(number: str) -> mail.EmailMessage:
    """Return the one confirmation email of order ``number`` (sent on commit, by a task)."""
    deadline = time.monotonic() + 10
    while True:
        sent = [m for m in mail.outbox if number in str(m.subject)]
        if sent or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(sent) == 1, [m.subject for m in mail.outbox]
    return sent[0]


@pytest.mark.parametrize("purchase", [GERMAN, ENGLISH], ids=lambda p: p.folder)
def test_a_shopper_buys_in_their_language_on_their_device(
    browser: Browser, shop_url: str, settings: Any, purchase: Purchase
) -> None:
    # A sandbox key's orders are test orders; the demo mails them so that shoppers see.
    settings.CHECKOUT_SEND_TEST_ORDER_EMAILS = True
    context = open_context(
        browser,
        purchase.device,
        locale={"de": "de-DE", "en": "en-US"}[purchase.language],
        extra_http_headers={"Accept-Language": purchase.language},
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    says, money = purchase.says, purchase.money
    variant, from_price = cheapest_in_stock(PRODUCT)

    # The product list: the product's card gives its lowest price.
    page.goto(shop_url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text(says("Shop refurbished devices"))
    link = page.get_by_role("link", name=re.compile(rf"\b{re.escape(PRODUCT)}$"))
    card = page.get_by_role("listitem").filter(has=link)
    price = money(variant.price)
    expect(card).to_contain_text(says("From %(price)s", price=price) if from_price else price)
    check_page(page, purchase, "01-product-list")

    # The product page: the shopper picks that variant.
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PRODUCT)
    for value in variant.attributes.values():
        if value:
            page.get_by_role("radio", name=str(value), exact=True).check()
    expect(page.locator("[data-variant-price]")).to_have_text(price)
    check_page(page, purchase, "02-product-page")
    page.get_by_role("button", name=says("Add to cart")).click()

    # The cart.
    expect(page).to_have_url(re.compile(r"/cart/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(says("Your cart"))
    expect(page.get_by_test_id("cart-subtotal")).to_have_text(price)
    check_page(page, purchase, "03-cart")
    page.get_by_role("link", name=says("Check out")).click()

    # Information: contact and the shipping address (New York: the demo ships there).
    expect(page).to_have_url(re.compile(r"/checkout/information/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(says("Contact and shipping"))
    page.get_by_label(says("Email")).fill(ADDRESS["email"])
    page.get_by_label(says("Full name")).fill(ADDRESS["name"])
    page.get_by_label(says("Address"), exact=True).fill(ADDRESS["address1"])
    page.get_by_label(says("City")).fill(ADDRESS["city"])
    page.get_by_label(says("State")).select_option(ADDRESS["state"])
    page.get_by_label(says("ZIP code")).fill(ADDRESS["zip"])
    open_summary(page)
    expect(page.get_by_test_id("summary-subtotal")).to_have_text(price)
    expect(page.get_by_test_id("summary-shipping")).to_have_text(says("Calculated at next step"))
    *refused, phone = purchase.phones
    for typed in refused:
        page.get_by_label(says("Phone")).fill(typed)
        page.get_by_role("button", name=says("Continue to shipping")).click()
        expect(page.locator("#id_phone_error")).to_have_text(
            says(
                "Enter a valid phone number, like %(example)s. Start a number from another "
                "country with + and its country code.",
                example=phone_example(region="US"),
            )
        )
        open_summary(page)
        check_page(page, purchase, "04b-information-phone-refused")
    page.get_by_label(says("Phone")).fill(phone)
    check_page(page, purchase, "04-information")
    page.get_by_role("button", name=says("Continue to shipping")).click()

    # Shipping: each rate the API offers, its price and its date as the language writes
    # them; the shopper picks the first one that costs something.
    expect(page).to_have_url(re.compile(r"/checkout/shipping/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(says("Shipping method"))
    attempt = CheckoutAttempt.objects.get()
    rates = get_spectra_client().get_shipping_rates(
        attempt.cart_id, address=attempt.shipping_address
    )
    assert any(rate.price for rate in rates), rates
    for rate in rates:
        choice = page.get_by_role("radio", name=re.compile(rf"^{re.escape(rate.service)}\b"))
        label = page.locator(f"label[for='{choice.get_attribute('id')}']")
        expect(label).to_contain_text(money(rate.price) if rate.price else says("Free"))
        assert rate.estimated_delivery
        day = format_skeleton("MMMEd", rate.estimated_delivery, locale=purchase.language)
        expect(label).to_contain_text(says("Arrives by %(date)s", date=day))
    chosen = next(rate for rate in rates if rate.price)
    page.get_by_role("radio", name=re.compile(rf"^{re.escape(chosen.service)}\b")).check()
    open_summary(page)
    expect(page.get_by_test_id("summary-shipping")).to_have_text(money(chosen.price))
    check_page(page, purchase, "05-shipping")
    page.get_by_role("button", name=says("Continue to payment")).click()

    # Payment: the billing address (Germany's fields for the German cardholder), the card.
    expect(page).to_have_url(re.compile(r"/checkout/payment/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(says("Payment"))
    page.locator("#card-element input").first.wait_for()
    if purchase.billing:
        page.get_by_label(says("Same as shipping address")).uncheck()
        billing = page.locator("#billing-fields")
        billing.get_by_label(says("Full name")).fill(purchase.billing["name"])
        page.locator("#id_billing-country").select_option(purchase.billing["country"])
        expect(billing.get_by_label(says("State"))).to_have_count(0)
        billing.get_by_label(says("Address"), exact=True).fill(purchase.billing["address1"])
        billing.get_by_label(says("Postal code")).fill(purchase.billing["zip"])
        billing.get_by_label(says("City")).fill(purchase.billing["city"])
    open_summary(page)
    summary = {
        name: page.get_by_test_id(f"summary-{name}").inner_text()
        for name in ("subtotal", "shipping", "tax", "total")
    }
    pay_label = page.locator("[data-pay-button]").inner_text()
    check_page(page, purchase, "06-payment")
    type_card(page, GOOD_CARD)
    pay(page)

    # Confirmation: the order's amounts, the addresses in their countries' formats.
    number = expect_confirmation(page)
    order = Order.objects.get()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        says("Thank you, your order is confirmed")
    )
    assert summary == {
        "subtotal": money(order.subtotal),
        "shipping": money(order.shipping_total),
        "tax": money(order.tax_total),
        "total": money(order.amount_charged),
    }
    assert pay_label.strip() == says("Pay %(total)s", total=money(order.amount_charged))
    expect(page.get_by_test_id("order-grand-total")).to_have_text(money(order.grand_total))
    expect(page.get_by_test_id("order-amount-charged")).to_have_text(money(order.amount_charged))
    billing_panel = page.get_by_role("region", name=says("Billing address"))
    lines = billing_panel.locator("address").inner_text().splitlines()
    assert lines == list(purchase.billing_lines)
    check_page(page, purchase, "07-confirmation")
    assert order.language == purchase.language
    assert order.billing["phone"] == purchase.phone_e164
    assert order.billing["country"] == (purchase.billing.get("country") or "US")

    # The confirmation email, in the order's language, money and address formats.
    message = confirmation_email(number)
    assert message.to == [ADDRESS["email"]]
    assert message.subject == says("Order %(order_number)s confirmed", order_number=number)
    text = str(message.body)
    for line in (
        says(
            "Thank you for your order. We have received order %(order_number)s and will let "
            "you know when it ships.",
            order_number=number,
        ),
        f"{says('Subtotal')}: {money(order.subtotal)}",
        f"{says('Shipping')}: {money(order.shipping_total)}",
        f"{says('Tax')}: {money(order.tax_total)}",
        f"{says('Total')}: {money(order.grand_total)}",
        f"{says('Billing address')}: {', '.join(purchase.billing_lines)}",
    ):
        assert line in text.splitlines(), f"{line!r} not in the email:\n{text}"
    assert isinstance(message, mail.EmailMultiAlternatives)
    # The inliner writes the no-break space in money as an entity: compare the text.
    html = unescape(str(message.alternatives[0][0]))
    assert says("Thank you for your order") in html
    assert money(order.grand_total) in html
    page.set_content(html)
    screenshot(page, "08-confirmation-email", folder=purchase.folder)

    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
