"""Shoppers from abroad: a billing address in any country, laid out by that country's
rules, and phones in E.164, all the way to the order the sandbox API records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from checkout.models import CheckoutAttempt, Order
from checkout.services.spectra import get_spectra_client
from checkout.testing.stripe_helpers import localstripe_client

from .conftest import add_to_cart, complete_information, complete_shipping

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

GERMAN_BILLING = {
    "billing-country": "DE",
    "billing-shown_country": "DE",
    "billing-name": "Erika Mustermann",
    "billing-address1": "Heidestraße 17",
    "billing-address2": "",
    "billing-city": "Köln",
    "billing-zip": "51147",
}


def _card(localstripe: Any) -> str:
    stripe_client = localstripe_client(localstripe.api_base, localstripe.secret_key)
    method = stripe_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    return str(method.id)


@pytest.mark.default_contract("reads the addresses back from the order's answer")
def test_a_german_cardholder_buys_and_the_api_gets_their_address_and_phone(
    client: Client, shop: Any, localstripe: Any
) -> None:
    add_to_cart(client)
    complete_information(client, phone="+49 30 901820")
    assert CheckoutAttempt.objects.get().phone == "+4930901820"
    complete_shipping(client)
    page = client.get("/checkout/payment/").content.decode()
    assert '<option value="DE">Germany</option>' in page  # any country may be billed

    response = client.post("/checkout/payment/", GERMAN_BILLING)
    assert response.status_code == 302, response.content[:2000]
    paid = client.post(
        "/checkout/pay/",
        json.dumps({"payment_method_id": _card(localstripe)}),
        content_type="application/json",
    )
    assert paid.json()["status"] == "authorized", paid.content
    placed = client.post("/checkout/place/", "{}", content_type="application/json")
    assert placed.json()["status"] == "placed", placed.content

    order = Order.objects.get()
    api_order = get_spectra_client().get_order(order.spectra_id)
    assert api_order.billing is not None
    assert api_order.shipping is not None
    keys = ("country", "state", "zip", "city", "phone")
    billing = {k: getattr(api_order.billing, k) for k in keys}
    assert billing == {
        "country": "DE",
        "state": "",
        "zip": "51147",
        "city": "Köln",
        "phone": "+4930901820",
    }
    assert api_order.shipping.country == "US"
    confirmation = client.get(placed.json()["redirect"]).content.decode()
    assert "Heidestraße 17<br>51147 Köln<br>Germany</address>" in confirmation


def test_a_new_billing_country_shows_its_fields_and_saves_nothing(
    client: Client, shop: Any
) -> None:
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    # Without JavaScript: US fields were shown, Germany was chosen, Continue was pressed.
    response = client.post("/checkout/payment/", {**GERMAN_BILLING, "billing-shown_country": "US"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="billing-state"' not in html
    assert '<label for="id_billing-zip">Postal code</label>' in html
    assert 'value="Heidestraße 17"' in html
    assert "Check them and continue." in html
    assert "checkout-field--invalid" not in html
    assert CheckoutAttempt.objects.get().billing_same_as_shipping
    # checkout.js asks for the fields of a country the same way, with refresh_address.
    japan = {**GERMAN_BILLING, "billing-country": "JP", "refresh_address": "1"}
    html = client.post("/checkout/payment/", japan).content.decode()
    fields = html.split('id="billing-address-fields"', 1)[1].split("</div>\n</div>", 1)[0]
    assert fields.index('name="billing-zip"') < fields.index('name="billing-address1"')
    assert '<label for="id_billing-state">Prefecture</label>' in fields
    assert CheckoutAttempt.objects.get().billing_same_as_shipping


def test_a_phone_that_is_not_a_number_of_the_country_is_refused(client: Client, shop: Any) -> None:
    add_to_cart(client)
    response = client.post(
        "/checkout/information/",
        {
            "email": "shopper@example.com",
            "phone": "555-1234",
            "name": "Ada Lovelace",
            "address1": "1 Main St",
            "city": "New York",
            "state": "NY",
            "zip": "10001",
            "country": "US",
            "shown_country": "US",
        },
    )
    assert response.status_code == 400
    assert "Enter a valid phone number, like (201) 555-0123." in response.content.decode()
    assert CheckoutAttempt.objects.get().phone == ""


def test_a_region_the_country_writes_out_is_kept_as_written(client: Client, shop: Any) -> None:
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    hong_kong = {
        "billing-country": "HK",
        "billing-shown_country": "HK",
        "billing-name": "Chan Tai Man",
        "billing-address1": "1 Queen's Road Central",
        "billing-state": "hong kong island",
    }
    assert client.post("/checkout/payment/", hong_kong).status_code == 302
    billing = CheckoutAttempt.objects.get().billing_address
    assert (billing["state"], billing["zip"], billing["country"]) == ("Hong Kong Island", "", "HK")
