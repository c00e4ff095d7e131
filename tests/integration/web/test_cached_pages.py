"""Cached checkout pages and quotes never show a stale total: a page served again comes
from the cache only while neither the cart nor the attempt changed (checkout.services.quotes
and the rendered step cache in checkout.views)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from checkout.models import CheckoutAttempt

from .conftest import add_to_cart, complete_information, complete_shipping

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def shown_total(response: Any) -> str:
    found = re.search(r'data-testid="summary-total">([^<]+)<', response.content.decode())
    assert found, response.content[:2000]
    return found.group(1)


def csrf_value(response: Any) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert found
    return found.group(1)


def at_payment(client: Client) -> None:
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)


def test_a_revisit_is_served_from_the_cache_with_its_own_csrf_token(
    client: Client, shop: Any
) -> None:
    at_payment(client)
    first = client.get("/checkout/payment/")
    again = client.get("/checkout/payment/")
    assert first.status_code == again.status_code == 200
    assert first.context is not None
    assert again.context is None  # nothing rendered: the page came from the cache
    assert shown_total(again) == shown_total(first)
    assert "checkout-csrf-slot" not in again.content.decode()
    assert csrf_value(again)  # a real token, masked for this response


def test_payment_page_total_follows_a_quantity_change_in_the_cart(
    client: Client, shop: Any
) -> None:
    at_payment(client)
    before = client.get("/checkout/payment/")
    client.get("/checkout/payment/")  # cached now
    item = client.get("/cart/").context["cart"].items[0]
    response = client.post(f"/cart/items/{item.id}/update/", {"quantity": 2})
    assert response.status_code == 302
    after = client.get("/checkout/payment/")
    assert after.context is not None  # rendered again, not the cached page
    quote = after.context["quote"]
    assert quote.items[0].quantity == 2
    assert quote.subtotal == before.context["quote"].subtotal * 2
    assert shown_total(after) != shown_total(before)
    assert Decimal(shown_total(after).lstrip("$").replace(",", "")) == quote.amount_due


def test_applying_and_removing_a_promo_updates_the_totals(client: Client, shop: Any) -> None:
    at_payment(client)
    before = client.get("/checkout/payment/")
    client.get("/checkout/payment/")
    client.post("/checkout/promo/", {"promo-code": "SAVE10"})
    with_promo = client.get("/checkout/payment/")
    assert 'data-testid="summary-discount"' in with_promo.content.decode()
    assert shown_total(with_promo) != shown_total(before)
    client.get("/checkout/payment/")
    client.post("/checkout/promo/", {"action": "remove"})
    removed = client.get("/checkout/payment/")
    assert 'data-testid="summary-discount"' not in removed.content.decode()
    assert shown_total(removed) == shown_total(before)


def test_a_changed_address_is_shown_and_priced_again(client: Client, shop: Any) -> None:
    at_payment(client)
    client.get("/checkout/shipping/")
    client.get("/checkout/shipping/")
    complete_information(client, city="Albany", zip="12207")
    page = client.get("/checkout/shipping/")
    assert page.context is not None
    attempt = CheckoutAttempt.objects.get()
    assert attempt.shipping_address["city"] == "Albany"
    assert attempt.shipping_rate == {}  # a new address needs a rate chosen again
    code = page.context["rates"][0].service_code
    assert client.post("/checkout/shipping/", {"service_code": code}).status_code == 302
    assert "Albany" in client.get("/checkout/payment/").content.decode()


def test_resubmitting_unchanged_information_keeps_the_attempt_as_is(
    client: Client, shop: Any
) -> None:
    at_payment(client)
    attempt = CheckoutAttempt.objects.get()
    complete_information(client)  # the same details again (back button, continue)
    again = CheckoutAttempt.objects.get()
    assert again.updated_at == attempt.updated_at
    assert again.shipping_rate == attempt.shipping_rate  # the chosen rate stays
