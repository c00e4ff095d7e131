"""What the shopper reads on the checkout pages is what will happen (issue 15): the whole
address that will be sent, errors listed in the order of the page, one message per promo,
no 405 for a code URL revisited, and an icon instead of a /favicon.ico 404."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from .conftest import ADDRESS, add_to_cart, complete_information, complete_shipping

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _ship_to(html: str) -> str:
    row = re.search(r"Ship to</span>(.*?)<a ", html, re.S)
    assert row, "no Ship to line"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", row.group(1))).strip()


def test_ship_to_shows_the_whole_address_that_will_be_sent(client: Client, shop: Any) -> None:
    add_to_cart(client)
    complete_information(client, address2="Apt 4B")
    expected = "Ada Lovelace, 1 Main St, Apt 4B, New York, NY 10001, United States of America"
    assert _ship_to(client.get("/checkout/shipping/").content.decode()) == expected
    complete_shipping(client)
    assert _ship_to(client.get("/checkout/payment/").content.decode()) == expected


def test_error_summary_lists_fields_in_the_order_of_the_page(client: Client, shop: Any) -> None:
    add_to_cart(client)
    blank = dict.fromkeys(ADDRESS, "")
    html = client.post("/checkout/information/", {**blank, "country": "US"}).content.decode()
    summary = html.split("data-error-summary", 1)[1].split("</ul>", 1)[0]
    listed = re.findall(r'href="#(id_\w+)"', summary)
    form = html.split("data-checkout-form", 1)[1]
    on_page = [i for i in re.findall(r'<(?:input|select)[^>]* id="(id_\w+)"', form) if i in listed]
    assert listed == on_page
    assert listed[:2] == ["id_email", "id_phone"]


def test_a_code_url_revisited_answers_with_the_payment_step(client: Client, shop: Any) -> None:
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    for path in ("/checkout/promo/", "/checkout/gift-card/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/checkout/payment/"


def test_a_promo_says_each_thing_once(client: Client, shop: Any) -> None:
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    refused = client.post("/checkout/promo/", {"promo-code": "EXPIRED15"}).content.decode()
    assert refused.count("This promo code has expired.") == 1
    applied = client.post("/checkout/promo/", {"promo-code": "FREESHIP"}, follow=True)
    html = applied.content.decode()
    assert html.count("Free ground shipping applied.") == 1
    assert "Promo code FREESHIP applied." in html


def test_pages_name_their_icon(client: Client, shop: Any) -> None:
    add_to_cart(client)
    html = client.get("/cart/").content.decode()
    icon = re.search(r'<link rel="icon" href="/static/([^"]+)"', html)
    assert icon, "no icon link: the browser asks for /favicon.ico and gets a 404"
    assert finders.find(icon.group(1))
