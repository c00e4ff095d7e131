"""A merchant's base.html with its own block names: the shopper can still pay by card; the
merchant's theme restyles the checkout; and on a Bootstrap-style site, the checkout's
stylesheet and the site's leave each other's elements alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from checkout.models import Order
from checkout.services.spectra import get_spectra_client
from tests.integration.web import merchant_site

from .shopper import GOOD_CARD, expect_confirmation, fill_information, go_to_payment, pay, type_card

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Blocks named as in many Bootstrap starter templates: none is "head" or "scripts".
BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{% block title %}Merchant{% endblock %}</title>
{% block extra_css %}{% endblock %}</head>
<body><header data-testid="merchant-header">The merchant's header</header>
{% block content %}{% endblock %}
{% block extra_js %}{% endblock %}
</body></html>
"""


@pytest.fixture
def merchant_base(tmp_path: Path, settings: Any) -> None:
    (tmp_path / "base.html").write_text(BASE)
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]


def test_a_shopper_pays_on_a_site_whose_blocks_have_other_names(
    page: Page, shop_url: str, merchant_base: None
) -> None:
    go_to_payment(page, shop_url)  # waits for the card field Stripe.js mounts
    expect(page.get_by_test_id("merchant-header")).to_be_visible()
    # The checkout's stylesheet applies: the pay button is styled, not a bare button.
    radius = page.locator("[data-pay-button]").evaluate("b => getComputedStyle(b).borderRadius")
    assert radius not in ("", "0px")
    type_card(page, GOOD_CARD)
    pay(page)
    expect_confirmation(page)
    assert Order.objects.count() == 1


# The merchant's own stylesheet, loaded before the checkout's (as a site's CSS in <head>
# is, while the checkout's goes into the content here): the merchant's theme still wins.
THEMED_BASE = BASE.replace(
    "{% block extra_css %}",
    "<style>:root { --checkout-accent: rgb(200, 30, 40); "
    '--checkout-font-family: "Courier New", monospace; --checkout-radius: 0px; }</style>'
    "{% block extra_css %}",
)


def test_the_merchants_theme_variables_restyle_the_checkout(
    browser: Browser, shop_url: str, settings: Any, tmp_path: Path
) -> None:
    (tmp_path / "base.html").write_text(THEMED_BASE)
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    # The inline <style> stands for the merchant's stylesheet; the page's CSP would refuse it.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    try:
        go_to_payment(page, shop_url)
        pay_button = page.locator("[data-pay-button]")
        style = pay_button.evaluate(
            "b => { const s = getComputedStyle(b); "
            "return [s.backgroundColor, s.borderTopLeftRadius, s.fontFamily]; }"
        )
        assert style[0] == "rgb(200, 30, 40)"
        assert style[1] == "0px"
        assert "Courier New" in style[2]
    finally:
        context.close()


# What a shopper sees of the checkout's parts, read from their computed styles: sizes that
# follow box-sizing are left out, the host's sheet setting it for every element.
LOOK_OF = """(selectors) => selectors.map((selector) => {
  const node = document.querySelector(selector);
  if (!node) return [selector, null];
  const style = getComputedStyle(node);
  return [selector, [
    "display", "position", "float", "overflow", "background-color", "color", "box-shadow",
    "border-top-width", "border-top-style", "border-top-color", "border-top-left-radius",
    "padding-top", "padding-left", "margin-top", "margin-bottom", "font-size", "font-weight",
    "text-transform", "list-style-type",
  ].map((name) => name + ": " + style.getPropertyValue(name))];
})"""
CHECKOUT_PARTS = [
    ".checkout-root",
    ".checkout-container",
    'nav[aria-label="Checkout steps"]',
    "[data-summary]",
    ".checkout-recap",
    ".checkout-panel",
    ".checkout-root fieldset",
    ".checkout-root legend",
    ".checkout-checkbox",
    "#card-label",
    "[data-pay-button]",
]


@pytest.fixture
def bootstrap_site(tmp_path: Path, settings: Any) -> None:
    """The merchant's own site with its Bootstrap-style base.html and stylesheet."""
    (tmp_path / "base.html").write_text(merchant_site.BOOTSTRAP_BASE)
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    settings.ROOT_URLCONF = "tests.integration.web.merchant_site"


def test_the_checkout_and_a_bootstrap_site_leave_each_others_styles_alone(
    page: Page, shop_url: str, bootstrap_site: None
) -> None:
    variant = next(v for v in get_spectra_client().get_product(2).variants if v.in_stock)
    page.goto(f"{shop_url}/mine/{variant.id}/?sku={variant.sku}")
    page.get_by_role("button", name="Buy by SKU").click()
    page.get_by_role("link", name="Check out").click()
    fill_information(page)
    page.get_by_role("button", name="Continue to shipping").click()
    page.get_by_role("button", name="Continue to payment").click()
    page.locator("#card-element input").first.wait_for()
    expect(page.get_by_test_id("merchant-header")).to_be_visible()

    # The site's header keeps its 960 px container (the page's width on a phone), its
    # badge its own shape.
    header, room = page.get_by_test_id("merchant-header").evaluate(
        "n => [n.getBoundingClientRect().width, document.body.clientWidth]"
    )
    assert header == min(960, room)
    badge = page.get_by_test_id("merchant-badge").evaluate(
        "n => { const s = getComputedStyle(n); return [s.borderTopLeftRadius, s.marginLeft]; }"
    )
    assert badge == ["6px", "0px"]
    # The site's fieldset and legend keep the browser's look: a grooved frame, plain text.
    fieldset = page.get_by_test_id("merchant-fieldset").evaluate(
        "n => { const s = getComputedStyle(n); return [s.borderTopStyle, s.borderTopWidth]; }"
    )
    assert fieldset == ["groove", "2px"]
    legend = page.get_by_test_id("merchant-legend").evaluate(
        "n => { const s = getComputedStyle(n); return [s.fontWeight, s.paddingLeft]; }"
    )
    assert legend == ["400", "2px"]

    # The checkout's own parts look exactly as they do with the site's stylesheet switched
    # off: none of its rules (.container, .progress, .panel, .label ...) reaches them.
    with_site_css = page.evaluate(LOOK_OF, CHECKOUT_PARTS)
    assert all(look for _selector, look in with_site_css), with_site_css
    page.evaluate("() => { document.querySelector('link[href=\"/site.css\"]').disabled = true; }")
    assert page.evaluate(LOOK_OF, CHECKOUT_PARTS) == with_site_css
    # ... and it is the checkout's look: its fieldsets unframed, its button its own.
    fieldset_border = page.locator(".checkout-root fieldset").first.evaluate(
        "n => getComputedStyle(n).borderTopWidth"
    )
    assert fieldset_border == "0px"
    pay_button = page.locator("[data-pay-button]").evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )
    assert pay_button == "rgb(31, 95, 191)"  # --checkout-accent
