"""axe-core on every shopper page (from ``npm ci``): no serious or critical violations."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import ROOT
from .shopper import GOOD_CARD, add_phone_to_cart, expect_confirmation, fill_information, type_card

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def assert_accessible(page: Page, name: str) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` at the repository root", pytrace=False)
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the page's CSP (rightly) forbids an
        # injected inline <script>, and must not be loosened for a test.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(str(node["target"]) for node in v["nodes"][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: " + "\n".join(bad)


def test_every_checkout_page_passes_axe(page: Page, shop_url: str) -> None:
    page.goto(shop_url + "/")
    assert_accessible(page, "product list")
    add_phone_to_cart(page, shop_url)
    assert_accessible(page, "cart")
    page.goto(shop_url + "/products/1/")
    assert_accessible(page, "product page")
    page.goto(shop_url + "/cart/")
    page.get_by_role("link", name="Check out").click()
    expect(page).to_have_url(re.compile(r"/checkout/information/$"))
    assert_accessible(page, "information")
    page.get_by_role("button", name="Continue to shipping").click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    assert_accessible(page, "information with errors")
    fill_information(page)
    page.get_by_role("button", name="Continue to shipping").click()
    expect(page).to_have_url(re.compile(r"/checkout/shipping/$"))
    assert_accessible(page, "shipping")
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(re.compile(r"/checkout/payment/$"))
    page.locator("#card-element input").first.wait_for()
    assert_accessible(page, "payment")
    page.get_by_label("Same as shipping address").uncheck()
    assert_accessible(page, "payment with billing form")
    page.get_by_label("Same as shipping address").check()
    type_card(page, GOOD_CARD)
    page.locator("[data-pay-button]").click()
    expect_confirmation(page)
    assert_accessible(page, "confirmation")
    page.get_by_test_id("status-link").click()
    expect(page.get_by_test_id("order-status")).to_be_visible()
    assert_accessible(page, "order status")
