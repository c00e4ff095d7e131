"""The shopper's pages through Django's test client against the live sandbox: step
guards, form errors that keep the input, session scoping, JSON reasons, CSRF."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkout.links import order_status_url
from checkout.models import CheckoutAttempt, Order

from .conftest import ADDRESS, add_to_cart, complete_information, complete_shipping

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_storefront_lists_products_and_the_cart_counts_items(client: Client, shop: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"iPhone 13" in response.content
    add_to_cart(client)
    response = client.get("/cart/")
    assert response.status_code == 200
    assert b"iPhone 13" in response.content
    assert b'class="cart-link__count" aria-hidden="true">1<' in response.content


def test_sold_out_variant_cannot_be_added(client: Client, shop: Any) -> None:
    response = client.get("/products/2/")
    product = response.context["product"]
    sold_out = next(v for v in product.variants if not v.in_stock)
    data = {f"attr_{k}": v for k, v in sold_out.attributes.items() if v}
    data["quantity"] = "1"
    response = client.post("/products/2/", data)
    assert response.status_code == 400
    assert "sold out" in response.content.decode()
    assert client.session.get("checkout_cart_count", 0) == 0


def test_cart_quantity_change_and_remove(client: Client, shop: Any) -> None:
    add_to_cart(client)
    cart = client.get("/cart/").context["cart"]
    item = cart.items[0]
    response = client.post(f"/cart/items/{item.id}/update/", {"quantity": "2"}, follow=True)
    assert response.context["cart"].items[0].quantity == 2
    assert response.context["cart"].subtotal == item.unit_price * 2
    response = client.post(f"/cart/items/{item.id}/remove/", follow=True)
    assert response.context["cart"].is_empty
    assert b"Your cart is empty" in response.content


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(client: Client, shop: Any) -> None:
    for path in ("/checkout/", "/checkout/information/", "/checkout/payment/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == "/cart/"


def test_steps_are_unreachable_until_the_previous_one_is_valid(client: Client, shop: Any) -> None:
    add_to_cart(client)
    assert client.get("/checkout/shipping/")["Location"] == "/checkout/information/"
    assert client.get("/checkout/payment/")["Location"] == "/checkout/information/"
    # A POST to a later step is refused the same way.
    response = client.post("/checkout/shipping/", {"service_code": "ups_ground"})
    assert response["Location"] == "/checkout/information/"
    complete_information(client)
    assert client.get("/checkout/payment/")["Location"] == "/checkout/shipping/"
    assert client.get("/checkout/")["Location"] == "/checkout/shipping/"
    complete_shipping(client)
    response = client.get("/checkout/payment/")
    assert response.status_code == 200
    quote = response.context["quote"]
    assert quote.amount_due == quote.grand_total > 0
    assert "checkout/payment.html" in [t.name for t in response.templates]


def test_information_errors_are_shown_beside_fields_and_input_is_kept(
    client: Client, shop: Any
) -> None:
    add_to_cart(client)
    bad = {**ADDRESS, "zip": "1000", "state": "ZZ", "email": "not-an-email", "name": ""}
    response = client.post("/checkout/information/", bad)
    assert response.status_code == 400
    html = response.content.decode()
    form = response.context["form"]
    assert set(form.errors) >= {"zip", "state", "email", "name"}
    # Error summary linking to the fields, and each field wired to its message.
    assert "data-error-summary" in html
    assert 'href="#id_zip"' in html
    assert 'aria-describedby="id_zip_error"' in html
    assert 'aria-invalid="true"' in html
    # What the shopper typed is still there.
    assert 'value="1 Main St"' in html
    assert 'value="not-an-email"' in html
    assert 'autocomplete="shipping postal-code"' in html
    assert CheckoutAttempt.objects.get().email == ""


@override_settings(CHECKOUT_SHIPPING_COUNTRIES=("US",))
def test_country_is_limited_by_setting(client: Client, shop: Any) -> None:
    add_to_cart(client)
    response = client.post("/checkout/information/", {**ADDRESS, "country": "CA"})
    assert response.status_code == 400
    assert "country" in response.context["form"].errors


def test_shipping_rates_cheapest_first_and_price_comes_from_the_api(
    client: Client, shop: Any
) -> None:
    add_to_cart(client)
    complete_information(client)
    response = client.get("/checkout/shipping/")
    rates = response.context["rates"]
    assert [r.price for r in rates] == sorted(r.price for r in rates)
    assert b"FedEx" in response.content
    assert b"UPS" in response.content
    response = client.post("/checkout/shipping/", {"service_code": "no_such_rate"})
    assert response.status_code == 400
    assert "service_code" in response.context["form"].errors


def test_promo_and_gift_card_errors_show_the_api_message(client: Client, shop: Any) -> None:
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    response = client.post("/checkout/promo/", {"promo-code": "EXPIRED15"})
    assert response.status_code == 400
    assert response.context["promo_form"].errors["code"]
    assert 'value="EXPIRED15"' in response.content.decode()
    response = client.post("/checkout/promo/", {"promo-code": "SAVE10"}, follow=True)
    assert response.context["quote"].discount_total > 0
    response = client.post("/checkout/promo/", {"action": "remove"}, follow=True)
    assert response.context["quote"].discount_total == 0
    response = client.post("/checkout/gift-card/", {"gift-code": "CARDREDEEMEDXYZW"})
    assert response.status_code == 400
    response = client.post("/checkout/gift-card/", {"gift-code": "CARD25BALANCEABC"}, follow=True)
    assert response.context["quote"].gift_card_amount == Decimal("25.00")


def test_billing_form_errors_keep_input(client: Client, shop: Any) -> None:
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    response = client.post(
        "/checkout/payment/", {"billing-name": "Bob", "billing-zip": "x", "billing-country": "US"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="Bob"' in html
    assert "billing-fields" in html
    assert "zip" in response.context["billing_form"].errors
    # The JSON variant (used by checkout.js) answers 400 with the field errors.
    response = client.post(
        "/checkout/payment/",
        {"billing-name": "Bob"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_billing"
    assert "address1" in response.json()["errors"]
    # Same as shipping: a SetupIntent secret and the billing details come back.
    response = client.post(
        "/checkout/payment/", {"same_as_shipping": "on"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["setup_intent_secret"].startswith("seti_")
    assert body["billing_details"]["address"]["postal_code"] == "10001"


def _post_json(client: Client, path: str, body: Any) -> Any:
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, raw, content_type="application/json")


def test_json_endpoints_answer_4xx_with_a_reason(client: Client, shop: Any) -> None:
    # No checkout at all.
    response = _post_json(client, "/checkout/pay/", {"payment_method_id": "pm_x"})
    assert response.status_code == 404
    assert response.json()["reason"] == "no_checkout"
    response = _post_json(client, "/checkout/place/", {})
    assert response.status_code == 404
    assert response.json()["reason"] == "no_checkout"
    add_to_cart(client)
    complete_information(client)
    # Bad bodies.
    response = _post_json(client, "/checkout/pay/", "{not json")
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_json"
    response = _post_json(client, "/checkout/pay/", {"payment_method_id": 42})
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_payment_method"
    response = _post_json(client, "/checkout/pay/", [1, 2])
    assert response.status_code == 400
    # Payment before shipping is chosen.
    response = _post_json(client, "/checkout/pay/", {"payment_method_id": "pm_x"})
    assert response.status_code == 409
    assert response.json()["reason"] == "step_unreachable"
    assert response.json()["redirect"] == "/checkout/shipping/"
    complete_shipping(client)
    # An unknown payment method is refused without a 500.
    response = _post_json(client, "/checkout/pay/", {"payment_method_id": "pm_does_not_exist"})
    assert 400 <= response.status_code < 600
    assert response.status_code != 500
    assert response.json()["reason"]
    # GET is not allowed on the machine endpoints.
    assert client.get("/checkout/pay/").status_code == 405


def test_csrf_is_required_on_forms_and_endpoints(shop: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.get("/").status_code == 200
    assert client.post("/checkout/information/", ADDRESS).status_code == 403
    with override_settings(CSRF_FAILURE_VIEW="checkout.views.csrf_failure"):
        response = client.post(
            "/checkout/pay/", "{}", content_type="application/json", HTTP_ACCEPT="application/json"
        )
        assert response.status_code == 403
        assert response.json()["reason"] == "csrf_failed"


def _order(**kwargs: Any) -> Order:
    defaults: dict[str, Any] = {
        "spectra_id": 9001,
        "order_number": "ORD-20260101-0001",
        "email": "shopper@example.com",
        "status": "shipped",
        "tracking_number": "1Z999AA10123456784",
        "shipping_carrier": "UPS",
        "grand_total": Decimal("100.00"),
        "items": [{"sku": "SKU-1", "name": "iPhone 13", "quantity": 1, "line_total": 100}],
    }
    defaults.update(kwargs)
    return Order.objects.create(**defaults)


def test_another_shoppers_attempt_is_a_404(client: Client, shop: Any) -> None:
    other = Client()
    add_to_cart(other)
    complete_information(other)
    attempt = CheckoutAttempt.objects.get()
    order = _order(attempt=attempt)
    assert other.get(f"/checkout/confirmation/{attempt.public_id}/").status_code == 200
    assert (
        order.order_number
        in other.get(f"/checkout/confirmation/{attempt.public_id}/").content.decode()
    )
    client.get("/")  # a session of its own
    assert client.get(f"/checkout/confirmation/{attempt.public_id}/").status_code == 404
    assert client.get(f"/checkout/pending/{attempt.public_id}/").status_code == 404


def test_order_status_link_is_signed_and_expires(client: Client, settings: Any) -> None:
    order = _order()
    url = order_status_url(order)
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert order.order_number in html
    assert "Shipped" in html
    assert "1Z999AA10123456784" in html
    assert "ups.com" in html
    assert client.get(url[:-3] + "abc/").status_code == 404
    assert client.get("/orders/status/forged-token/").status_code == 404
    settings.CHECKOUT_STATUS_TOKEN_MAX_AGE = -1
    assert client.get(url).status_code == 404


def test_cached_order_status_shows_the_orders_change_and_reads_little_while_current(
    client: Client, settings: Any
) -> None:
    settings.CHECKOUT_FRAGMENT_CACHE_SECONDS = 120
    order = _order()
    url = order_status_url(order)
    assert "Shipped" in client.get(url).content.decode()

    # While the order is unchanged, the cached details are served: the page reads two of
    # the order's columns to know that, never the whole order.
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url).content.decode()
    assert "Shipped" in again
    assert order.order_number in again
    order_reads = [q["sql"] for q in queries.captured_queries if "checkout_order" in q["sql"]]
    assert len(order_reads) == 1, order_reads
    assert '"checkout_order"."items"' not in order_reads[0]

    # Once it changes, the page shows the change at once (not after the cache expires).
    Order.objects.filter(pk=order.pk).update(status="delivered", updated_at=timezone.now())
    assert "Delivered" in client.get(url).content.decode()
    assert 'checkout-is-done" aria-current="step">Delivered</li>' in (
        client.get(url).content.decode()
    )


def test_cart_attach_hands_over_a_cart_built_elsewhere(rf: Any, shop: Any) -> None:
    from django.contrib.sessions.backends.db import SessionStore

    from checkout.services.cart import cart_attach, cart_id_from_session
    from checkout.services.spectra import get_spectra_client

    remote = get_spectra_client().create_cart()
    get_spectra_client().add_cart_item(remote.id, variant_id=10001, quantity=1)
    request = rf.get("/")
    request.session = SessionStore()
    cart = cart_attach(request, remote.id)
    assert cart.item_count == 1
    assert cart_id_from_session(request) == remote.id


MERCHANT_FIELD = (
    '<p class="merchant-field" data-merchant="{{ field.html_name }}">'
    "{{ field.label_tag }}{{ field }}{{ field.errors }}</p>"
)


def test_a_merchants_field_template_renders_the_information_step(
    client: Client, shop: Any, settings: Any, tmp_path: Any
) -> None:
    """A site that renders forms with its own templates (TemplatesSetting) can restyle fields."""
    (tmp_path / "checkout" / "forms").mkdir(parents=True)
    (tmp_path / "checkout" / "forms" / "field.html").write_text(MERCHANT_FIELD)
    add_to_cart(client)
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django.forms"]
    settings.FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    html = client.get("/checkout/information/").content.decode()
    for name in ("email", "phone", "country", "name", "address1", "city", "state", "zip"):
        assert f'data-merchant="{name}"' in html, name
    assert "data-field=" not in html  # the checkout's own field template is not used
    response = client.post("/checkout/information/", {**ADDRESS, "zip": "1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-merchant="zip"' in html
    assert 'aria-describedby="id_zip_error"' in html
    assert "Enter a valid ZIP code, like 95014." in html


def test_pending_page_is_truthful_when_the_outcome_stays_unknown(client: Client, shop: Any) -> None:
    import datetime as dt

    from django.utils import timezone

    add_to_cart(client)
    complete_information(client)
    attempt = CheckoutAttempt.objects.get()
    # Its POST /orders answer was lost long ago and staff now have it: no request is
    # placing it, and nobody can say yet whether the order exists.
    CheckoutAttempt.objects.filter(pk=attempt.pk).update(
        state=CheckoutAttempt.State.NEEDS_REVIEW,
        failure_code="outcome_unknown",
        payment_intent_id="pi_kept",
        submitted_at=timezone.now() - dt.timedelta(hours=1),
    )

    page = client.get(f"/checkout/pending/{attempt.public_id}/").content.decode()

    assert "taking longer than usual" in page
    assert "authorized but not charged" in page
    assert "refreshes itself until" not in page
    assert 'content="30"' in page
