"""The checkout inside a merchant's own site: mounted under ``checkout/``, without the
demo catalog, fed from the merchant's own product pages (``checkout:cart-add``, the
``checkout_add_to_cart`` tag, ``checkout.cart.add``), titled with the merchant's name."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse

from checkout import cart as checkout_cart
from checkout.exceptions import CartAddError
from checkout.services.spectra import get_spectra_client

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

MERCHANT = override_settings(ROOT_URLCONF="tests.integration.web.merchant_site")


def _variant(in_stock: bool = True) -> Any:
    product = get_spectra_client().get_product(2)
    return next(v for v in product.variants if v.in_stock == in_stock)


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@MERCHANT
def test_the_checkout_mounts_under_a_prefix_and_leaves_the_home_page_alone(
    client: Client, shop: Any
) -> None:
    assert client.get("/").content == b"Merchant home"
    assert reverse("checkout:cart") == "/checkout/cart/"
    assert reverse("checkout:webhook-spectra") == "/checkout/webhooks/spectra/"
    # The demo catalog is a separate URLconf: checkout.urls has no product pages.
    with pytest.raises(NoReverseMatch):
        reverse("checkout:product-list")
    assert client.get("/products/2/").status_code == 404
    assert client.get("/checkout/cart/").status_code == 200


@MERCHANT
@override_settings(CHECKOUT_CONTINUE_SHOPPING_URL="home")
def test_continue_shopping_goes_to_the_configured_url(client: Client, shop: Any) -> None:
    content = client.get("/checkout/cart/").content.decode()
    assert re.search(r'href="/"[^>]*>\s*Continue shopping', content)
    with override_settings(CHECKOUT_CONTINUE_SHOPPING_URL="https://shop.example.com/all/"):
        content = client.get("/checkout/cart/").content.decode()
        assert re.search(r'href="https://shop.example.com/all/"[^>]*>\s*Continue shopping', content)


@MERCHANT
def test_the_tag_form_on_a_merchant_page_puts_the_variant_in_the_cart(
    client: Client, shop: Any
) -> None:
    variant = _variant()
    page = client.get(f"/mine/{variant.id}/?sku={variant.sku}")
    html = page.content.decode()
    assert 'action="/checkout/cart/add/"' in html
    assert f'name="variant_id" value="{variant.id}"' in html
    assert f'name="sku" value="{variant.sku}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    response = client.post(
        "/checkout/cart/add/",
        {"variant_id": variant.id, "quantity": "2", "next": f"/mine/{variant.id}/"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/mine/{variant.id}/"
    assert any("was added to your cart" in m for m in _messages(response))
    cart = client.get("/checkout/cart/").context["cart"]
    assert [(i.variant_id, i.quantity) for i in cart.items] == [(variant.id, 2)]
    # The same product again by SKU adds to the line; without next the shopper sees the cart.
    response = client.post("/checkout/cart/add/", {"sku": variant.sku})
    assert response["Location"] == "/checkout/cart/"
    cart = client.get("/checkout/cart/").context["cart"]
    assert [(i.variant_id, i.quantity) for i in cart.items] == [(variant.id, 3)]


@MERCHANT
def test_cart_add_refuses_bad_input_with_a_message_or_a_json_reason(
    client: Client, shop: Any
) -> None:
    variant = _variant()

    def post_json(data: dict[str, Any]) -> Any:
        return client.post("/checkout/cart/add/", data, HTTP_ACCEPT="application/json")

    response = post_json({"sku": "NO-SUCH-SKU"})
    assert response.status_code == 404
    assert response.json()["reason"] == "unknown_product"
    response = post_json({"variant_id": "999999"})
    assert response.status_code == 404
    assert response.json()["reason"] == "unknown_product"
    response = post_json({"variant_id": variant.id, "quantity": "0"})
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid"
    assert "quantity" in response.json()["errors"]
    response = post_json({"variant_id": variant.id, "sku": variant.sku})
    assert response.status_code == 400
    response = post_json({})
    assert response.status_code == 400
    response = post_json(
        {"variant_id": variant.id, "quantity": str(min(99, variant.quantity_available + 1))}
    )
    assert response.status_code == 409
    assert response.json()["reason"] == "insufficient_stock"
    # A JSON body works as well as a form body.
    response = client.post("/checkout/cart/add/", "[1]", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid"
    response = client.post(
        "/checkout/cart/add/", {"sku": "NO-SUCH-SKU"}, content_type="application/json"
    )
    assert response.status_code == 404
    response = post_json({"variant_id": variant.id})
    assert response.status_code == 200
    body = response.json()
    assert body["item_count"] == 1
    assert body["cart_url"] == "/checkout/cart/"
    # A form post with an unknown product goes back where it came from, with the reason.
    response = client.post("/checkout/cart/add/", {"sku": "NO-SUCH-SKU", "next": "/mine/1/"})
    assert response["Location"] == "/mine/1/"
    assert _messages(response) == ["We don't sell that product."]
    # next never leads off the site.
    response = client.post(
        "/checkout/cart/add/", {"variant_id": variant.id, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/checkout/cart/"
    response = client.post(
        "/checkout/cart/add/", {"variant_id": variant.id, "next": "//evil.example/"}
    )
    assert response["Location"] == "/checkout/cart/"
    assert client.get("/checkout/cart/add/").status_code == 405


def test_cart_add_function_for_merchant_code(rf: Any, shop: Any) -> None:
    from django.contrib.sessions.backends.db import SessionStore

    variant = _variant()
    request = rf.post("/")
    request.session = SessionStore()
    cart = checkout_cart.add(request, sku=variant.sku, quantity=2)
    assert [(i.variant_id, i.quantity) for i in cart.items] == [(variant.id, 2)]
    cart = checkout_cart.add(request, variant_id=variant.id)
    assert cart.items[0].quantity == 3
    assert checkout_cart.count(request) == 3
    with pytest.raises(CartAddError) as err:
        checkout_cart.add(request, sku="NO-SUCH-SKU")
    assert err.value.code == "unknown_product"
    with pytest.raises(ValueError, match="exactly one"):
        checkout_cart.add(request)


@MERCHANT
@override_settings(CHECKOUT_SHOP_NAME="Acme Phones")
def test_page_titles_carry_the_shop_name(client: Client, shop: Any) -> None:
    content = client.get("/checkout/cart/").content.decode()
    assert "<title>Your cart · Acme Phones</title>" in content
    assert "Spectra Shop" not in content
    with override_settings(CHECKOUT_SHOP_NAME=""):
        content = client.get("/checkout/cart/").content.decode()
        assert "<title>Your cart · Shop</title>" in content


def test_the_demo_still_serves_its_catalog_at_the_root(client: Client, shop: Any) -> None:
    assert reverse("checkout_storefront:product-list") == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert 'href="/products/2/"' in page.content.decode()
    assert json.dumps(reverse("checkout:cart")) == '"/cart/"'


@MERCHANT
def test_without_keys_the_site_runs_and_checkout_pages_say_not_set_up(
    client: Client, shop: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(CHECKOUT_SPECTRA_API_KEY="", CHECKOUT_STRIPE_SECRET_KEY=""):
        assert client.get("/").content == b"Merchant home"
        page = client.get("/checkout/cart/")
        assert page.status_code == 503
        content = page.content.decode()
        assert "The checkout is not available right now" in content
        assert "CHECKOUT_SPECTRA_API_KEY" not in content  # DEBUG is off: no setting names
        response = client.post(
            "/checkout/cart/add/", {"variant_id": "10001"}, HTTP_ACCEPT="application/json"
        )
        assert response.status_code == 503
        assert response.json()["reason"] == "not_configured"
        assert client.get("/checkout/checkout/information/").status_code == 503
        with override_settings(DEBUG=True):
            content = client.get("/checkout/cart/").content.decode()
            assert "<code>CHECKOUT_SPECTRA_API_KEY</code>" in content
            assert "<code>CHECKOUT_STRIPE_SECRET_KEY</code>" in content
            assert "CHECKOUT_STRIPE_PUBLISHABLE_KEY" not in content
    logged = [r.getMessage() for r in caplog.records if r.name == "checkout.views.common"]
    assert any(
        "not set up: CHECKOUT_SPECTRA_API_KEY, CHECKOUT_STRIPE_SECRET_KEY not set" in m
        for m in logged
    )
    assert client.get("/checkout/cart/").status_code == 200
