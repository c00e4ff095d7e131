"""Tampering: numbers from the browser are ignored, other shoppers' ids and forged or
expired links are 404s, CSRF guards every form, and the webhook endpoint wants a signature."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.core import signing
from django.test import Client

from checkout.conf import app_settings
from checkout.links import STATUS_LINK_SALT, order_status_token
from checkout.models import CheckoutAttempt, Order, WebhookEvent
from checkout.money import to_minor_units
from checkout.services import orders
from checkout.testing.signing import sign_webhook_body
from tests.integration.checkout.support import Live
from tests.integration.web.conftest import add_to_cart, complete_information

from .conftest import Figures

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TAMPERED = {"amount": "0.01", "total": "0.01", "grand_total": "0", "price": "0.01"}


def place_through_the_views(client: Client, live: Live) -> tuple[CheckoutAttempt, Order]:
    """Check out with every request carrying forged amounts; return attempt and order."""
    add_to_cart(client)
    complete_information(client)
    response = client.get("/checkout/shipping/")
    rate = response.context["rates"][-1]  # the dearest option
    response = client.post(
        "/checkout/shipping/",
        {"service_code": rate.service_code, "shipping_total": "0.00", **TAMPERED},
    )
    assert response.status_code == 302
    response = client.post(
        "/checkout/payment/",
        {"same_as_shipping": "on", **TAMPERED},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    response = client.post(
        "/checkout/pay/",
        json.dumps({"payment_method_id": live.payment_method(), **TAMPERED, "amount": 1}),
        content_type="application/json",
    )
    assert response.json()["status"] == "authorized", response.content
    response = client.post(
        "/checkout/place/",
        json.dumps({**TAMPERED, "amount_due": 0}),
        content_type="application/json",
    )
    assert response.json()["status"] == "placed", response.content
    attempt = CheckoutAttempt.objects.get()
    return attempt, Order.objects.get(attempt=attempt)


def test_amounts_from_the_browser_are_ignored(live: Live, client: Client, figures: Figures) -> None:
    started = time.monotonic()
    attempt, order = place_through_the_views(client, live)
    quote = orders.attempt_quote(attempt=attempt)
    rates = orders.attempt_shipping_rates(attempt=attempt)
    assert Decimal(attempt.shipping_rate["price"]) == max(r.price for r in rates) > 0
    assert order.amount_charged == quote.amount_due == order.grand_total > Decimal("1.00")
    intent = live.intent(order.payment_intent_id)
    assert intent["status"] == "succeeded"
    assert intent["amount"] == to_minor_units(order.amount_charged, currency="USD")
    assert order.shipping_total == Decimal(attempt.shipping_rate["price"])
    figures.record(
        "tamper-amounts",
        scenario="Tampering: amounts from the browser",
        done="checkout through the views with amount/total/price/shipping_total fields "
        "forged to 0.01 on the shipping, billing, pay and place requests",
        expected="the API's numbers are charged",
        observed=f"charged {order.amount_charged} (= API grand total {order.grand_total}); "
        f"PaymentIntent {intent['amount']} cents",
        seconds=time.monotonic() - started,
    )


def test_another_shoppers_attempt_and_order_are_404(live: Live, client: Client) -> None:
    attempt, order = place_through_the_views(client, live)
    assert client.get(f"/checkout/confirmation/{attempt.public_id}/").status_code == 200
    stranger = Client()
    stranger.get("/cart/")
    for path in (
        f"/checkout/confirmation/{attempt.public_id}/",
        f"/checkout/pending/{attempt.public_id}/",
        f"/checkout/confirmation/{order.pk}/",
        "/checkout/confirmation/not-a-uuid/",
    ):
        assert stranger.get(path).status_code == 404, path
    # Pointing the session at someone else's attempt does not let pay/place touch it.
    session = stranger.session
    session["checkout_attempt"] = str(attempt.public_id)
    session.save()
    response = stranger.post("/checkout/place/", "{}", content_type="application/json")
    assert response.status_code == 404


def test_forged_and_expired_status_links_are_404(live: Live, client: Client, settings: Any) -> None:
    _attempt, order = place_through_the_views(client, live)
    good = order_status_token(order)
    assert client.get(f"/orders/status/{good}/").status_code == 200
    other_salt = signing.dumps({"o": order.pk}, compress=True)
    forged_payload = signing.dumps({"o": order.pk + 1}, salt=STATUS_LINK_SALT)[:-4] + "AAAA"
    too_old = time.time() - app_settings.STATUS_TOKEN_MAX_AGE - 86400
    with mock.patch("django.core.signing.time.time", return_value=too_old):
        expired = order_status_token(order)
    for token in (
        good[:-1] + ("A" if good[-1] != "A" else "B"),
        other_salt,
        forged_payload,
        expired,
        "x",
    ):
        assert client.get(f"/orders/status/{token}/").status_code == 404, token


FORMS = [
    ("/products/2/", {"quantity": "1"}),
    ("/cart/items/1/update/", {"quantity": "2"}),
    ("/cart/items/1/remove/", {}),
    ("/checkout/information/", {"email": "a@example.com"}),
    ("/checkout/shipping/", {"service_code": "ups_ground"}),
    ("/checkout/payment/", {"same_as_shipping": "on"}),
    ("/checkout/promo/", {"promo-code": "SAVE10"}),
    ("/checkout/gift-card/", {"gift-code": "CARD25BALANCEABC"}),
]


def test_csrf_is_enforced_on_every_form_and_endpoint(live: Live) -> None:
    browser = Client(enforce_csrf_checks=True)
    add_to_cart_with_token(browser)
    for path, data in FORMS:
        assert browser.post(path, data).status_code == 403, path
    for path in ("/checkout/pay/", "/checkout/place/"):
        response = browser.post(path, "{}", content_type="application/json")
        assert response.status_code == 403, path
        assert response.json()["reason"] == "csrf_failed"
    token = browser.cookies["csrftoken"].value
    response = browser.post("/checkout/information/", {"email": "x"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code != 403


def add_to_cart_with_token(browser: Client) -> None:
    response = browser.get("/products/2/")
    form = response.context["form"]
    data = {name: form[name].value() for name in form.fields}
    token = browser.cookies["csrftoken"].value
    assert browser.post("/products/2/", {**data, "csrfmiddlewaretoken": token}).status_code == 302


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Webhook-Signature": ""},
        {"X-Webhook-Signature": "sha256=" + "0" * 64},
        {"X-Webhook-Signature": "wrong-secret"},
        {"X-Webhook-Signature": "other-body"},
    ],
    ids=["none", "empty", "zeros", "wrong-secret", "other-body"],
)
def test_webhook_endpoint_refuses_anything_unsigned(
    client: Client, settings: Any, headers: dict[str, str]
) -> None:
    settings.CHECKOUT_WEBHOOK_SECRET = "whsec_reliability_tamper"
    body = json.dumps(
        {"event": "order.shipped", "data": {"id": 1001, "status": "shipped"}}
    ).encode()
    if headers.get("X-Webhook-Signature") == "wrong-secret":
        headers = {"X-Webhook-Signature": sign_webhook_body(body, "whsec_guess")}
    if headers.get("X-Webhook-Signature") == "other-body":
        headers = {
            "X-Webhook-Signature": sign_webhook_body(body + b" ", settings.CHECKOUT_WEBHOOK_SECRET)
        }
    response = client.post(
        "/webhooks/spectra/", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    assert (
        client.post("/webhooks/stripe/", body, content_type="application/json").status_code == 401
    )
    assert WebhookEvent.objects.count() == 0
