"""axe-core on every shopper page (from ``npm ci``): no serious or critical violations,
at a phone's size and a desktop's; and every control is a tap target of 44 px or more."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import ROOT
from .shopper import (
    GOOD_CARD,
    add_phone_to_cart,
    expect_confirmation,
    fill_information,
    open_summary,
    type_card,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

TAP_TARGET_PX = 44
# The box a finger hits for each control: a radio or checkbox is hit through its label.
# A link inside running text is exempt, as WCAG 2.5.5 exempts it; so is anything
# off-screen (the skip link until focused) or visually hidden.
SMALL_TARGETS_JS = """(minimum) => {
  const controls = document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary");
  const small = [];
  const inText = (el) => {
    const parent = el.parentElement;
    if (!parent || el.tagName !== "A") return false;
    return Array.from(parent.childNodes).some(
      (n) => n !== el && n.nodeType === Node.TEXT_NODE && n.textContent.trim().length > 1);
  };
  for (const el of controls) {
    let target = el;
    if (el.matches("input[type=radio], input[type=checkbox]")) {
      const byFor = el.id && document.querySelector(`label[for="${el.id}"]`);
      target = el.closest("label") || byFor || el;
    }
    const box = target.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === "hidden") continue;
    if (box.right <= 0 || box.bottom <= 0 || box.width <= 1 || box.height <= 1) continue;
    if (inText(el)) continue;
    if (box.width < minimum - 0.5 || box.height < minimum - 0.5) {
      const name = (el.getAttribute("aria-label") || el.textContent || el.name || "").trim();
      const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
      small.push(`${el.tagName.toLowerCase()} "${name.slice(0, 40)}" ${size}`);
    }
  }
  return small;
}"""


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
    small = page.evaluate(SMALL_TARGETS_JS, TAP_TARGET_PX)
    assert not small, f"{name}: tap targets under {TAP_TARGET_PX} px: " + "; ".join(small)


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
    open_summary(page)
    assert_accessible(page, "information with the order summary open")
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
