"""A merchant's base.html with its own block names: the shopper can still pay by card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

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
