"""A merchant's base.html with its own block names: the shopper can still pay by card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from checkout.models import Order

from .shopper import GOOD_CARD, expect_confirmation, go_to_payment, pay, type_card

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
