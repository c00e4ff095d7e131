"""Staff preview an email in admin: the framed email shows, styled, under the site's CSP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Browser, ConsoleMessage, expect

from checkout.models import Order

from .conftest import open_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_see_the_framed_email_styled_in_the_orders_language(
    browser: Browser, live_server: Any
) -> None:
    User.objects.create_superuser("boss", "boss@example.com", "pw-boss-123")
    order = Order.objects.create(
        spectra_id=7001,
        order_number="ORD-20260515-7001",
        email="ada@example.com",
        customer_name="Ada Lovelace",
        subtotal=Decimal("20.00"),
        grand_total=Decimal("20.00"),
        items=[{"sku": "SPX-1", "name": "Spectra X1", "quantity": 1, "line_total": 20.0}],
        language="de",
    )
    url = reverse("admin:checkout_order_email_preview", args=[order.pk, "confirmation"])
    context = open_context(browser, "desktop")
    page = context.new_page()
    refused: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused" in message.text:
            refused.append(message.text)

    page.on("console", on_console)
    try:
        page.goto(f"{live_server.url}{reverse('admin:login')}?next={url}")
        page.get_by_label("Username").fill("boss")
        page.get_by_label("Password").fill("pw-boss-123")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Preview emails")).to_be_visible()
        expect(page.locator(".checkout-email-subject")).to_have_text(
            "Bestellung ORD-20260515-7001 bestätigt"
        )

        email = page.frame_locator("iframe.checkout-email-frame")
        expect(email.get_by_role("heading", name="Vielen Dank für Ihre Bestellung")).to_be_visible()
        button = email.locator(".email-button")
        expect(button).to_have_css("background-color", "rgb(62, 76, 89)")
        expect(button).to_have_css("color", "rgb(255, 255, 255)")
        expect(email.locator("body")).to_have_css("background-color", "rgb(244, 245, 247)")
    finally:
        context.close()
    assert refused == []
