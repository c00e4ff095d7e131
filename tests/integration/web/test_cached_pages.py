"""Cached quotes never show a stale total: a quote is reused only while neither the cart
nor the attempt changed (checkout.services.quotes); rendered pages are never cached."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from checkout.models import CheckoutAttempt
from checkout.services.spectra import get_spectra_client
from checkout.testing.stripe_helpers import localstripe_client

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


def test_a_revisit_is_rendered_afresh_and_never_stored_by_a_cache(
    client: Client, shop: Any
) -> None:
    at_payment(client)
    first = client.get("/checkout/payment/")
    again = client.get("/checkout/payment/")
    assert first.status_code == again.status_code == 200
    assert again.context is not None  # rendered for this request, not replayed
    assert shown_total(again) == shown_total(first)
    assert csrf_value(again)
    for response in (first, again):
        cache_control = response["Cache-Control"]
        assert "private" in cache_control
        assert "no-store" in cache_control


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


def _card(localstripe: Any) -> str:
    stripe_client = localstripe_client(localstripe.api_base, localstripe.secret_key)
    method = stripe_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    return str(method.id)


def _pay(client: Client, payment_method_id: str) -> Any:
    return client.post(
        "/checkout/pay/",
        json.dumps({"payment_method_id": payment_method_id}),
        content_type="application/json",
    )


def shown_then_grown(client: Client) -> tuple[Decimal, CheckoutAttempt]:
    """Show the payment page, then grow the cart in Spectra behind our back (not through
    our cart service, so the cached quote is not invalidated); return the shown total."""
    at_payment(client)
    shown = client.get("/checkout/payment/").context["quote"].amount_due
    attempt = CheckoutAttempt.objects.get()
    item = get_spectra_client().get_cart(attempt.cart_id).items[0]
    get_spectra_client().add_cart_item(attempt.cart_id, variant_id=item.variant_id, quantity=1)
    return shown, attempt


@pytest.mark.default_contract("the API refuses a hold below its total with 402")
def test_pay_authorizes_the_total_the_payment_page_showed(
    client: Client, shop: Any, localstripe: Any
) -> None:
    shown, attempt = shown_then_grown(client)

    response = _pay(client, _card(localstripe))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "authorized"
    attempt.refresh_from_db()
    stripe_client = localstripe_client(localstripe.api_base, localstripe.secret_key)
    intent = stripe_client.v1.payment_intents.retrieve(attempt.payment_intent_id)
    assert intent.amount == int(shown * 100)
    # The API's own total is now higher: it refuses, the hold is released and the
    # shopper is asked to review the new total.
    placed = client.post("/checkout/place/", "{}", content_type="application/json")
    assert placed.status_code == 409
    assert placed.json()["reason"] == "payment_amount_mismatch"
    assert stripe_client.v1.payment_intents.retrieve(intent.id).status == "canceled"
    again = client.get("/checkout/payment/")
    assert again.context is not None
    assert again.context["quote"].amount_due > shown


def test_pay_quotes_again_when_the_shown_quote_is_no_longer_current(
    client: Client, shop: Any, localstripe: Any
) -> None:
    shown, attempt = shown_then_grown(client)
    cache.delete(f"checkout:quote:{attempt.cart_id}")  # expired (QUOTE_CACHE_SECONDS)

    response = _pay(client, _card(localstripe))

    assert response.json()["status"] == "authorized"
    attempt.refresh_from_db()
    assert attempt.amount_due > shown
    stripe_client = localstripe_client(localstripe.api_base, localstripe.secret_key)
    intent = stripe_client.v1.payment_intents.retrieve(attempt.payment_intent_id)
    assert intent.amount == int(attempt.amount_due * 100)
    placed = client.post("/checkout/place/", "{}", content_type="application/json")
    assert placed.json()["status"] == "placed"


def test_each_pay_click_counts_one_try_and_a_click_without_a_card_none(
    client: Client, shop: Any, localstripe: Any
) -> None:
    """A try is counted once per click with a card."""
    at_payment(client)
    client.get("/checkout/payment/")
    refused = _pay(client, "")
    assert refused.status_code == 402
    assert refused.json()["reason"] == "payment_method_required"
    assert CheckoutAttempt.objects.get().payment_tries == 0

    assert _pay(client, _card(localstripe)).json()["status"] == "authorized"
    attempt = CheckoutAttempt.objects.get()
    assert attempt.payment_tries == 1
    # Paying again (a refresh, a second tab) answers with that authorization: no new try.
    again = _pay(client, _card(localstripe))
    assert again.json()["status"] == "authorized"
    assert CheckoutAttempt.objects.get().payment_tries == 1
    stripe_client = localstripe_client(localstripe.api_base, localstripe.secret_key)
    intent = stripe_client.v1.payment_intents.retrieve(attempt.payment_intent_id)
    assert intent.metadata["checkout_attempt"] == str(attempt.public_id)


def test_another_session_cannot_pay_or_place_the_shoppers_attempt(
    client: Client, shop: Any, localstripe: Any
) -> None:
    at_payment(client)
    attempt = CheckoutAttempt.objects.get()
    intruder = Client()
    intruder.get("/cart/")
    session = intruder.session
    session["checkout_attempt"] = str(attempt.public_id)
    session.save()
    paid = _pay(intruder, _card(localstripe))
    assert paid.status_code == 404
    assert paid.json()["reason"] == "no_checkout"
    placed = intruder.post("/checkout/place/", "{}", content_type="application/json")
    assert placed.status_code == 404
    assert CheckoutAttempt.objects.get().payment_tries == 0
