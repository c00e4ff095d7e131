"""The Payment Element flow through Django's test client: the live sandbox (documented
contract: it records the PaymentIntent id and leaves the hold to the app) and Stripe's
answers from the test kit (``checkout.testing.payment_element``) instead of Stripe."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import responses
from django.test import Client

from checkout.models import CheckoutAttempt, Order
from checkout.money import to_minor_units
from checkout.services.payments import clear_stripe_clients
from checkout.testing.payment_element import (
    AUTHORIZED_TOKEN,
    DECLINED_TOKEN,
    EXPIRED_TOKEN,
    THREE_D_SECURE_TOKEN,
    StripeAnswers,
)
from checkout.testing.servers import SandboxProcess

from .conftest import add_to_cart, complete_information, complete_shipping

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db,
    pytest.mark.parametrize("sandbox_contract", ["documented"], indirect=True),
]


@pytest.fixture
def stripe(shop: SandboxProcess, settings: Any) -> Iterator[StripeAnswers]:
    """Stripe itself (no localstripe), answered by the test kit; the sandbox stays real."""
    settings.CHECKOUT_PAYMENT_UI = "payment_element"
    settings.CHECKOUT_STRIPE_API_BASE = None
    settings.CHECKOUT_STRIPE_SECRET_KEY = "sk_test_payment_element"
    settings.CHECKOUT_STRIPE_PUBLISHABLE_KEY = "pk_test_payment_element"
    settings.CHECKOUT_STRIPE_JS_URL = "https://js.stripe.com/v3/"
    clear_stripe_clients()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(re.compile(r"http://127\.0\.0\.1(:\d+)?/"))
        yield StripeAnswers(mock)
    clear_stripe_clients()


def _post_json(client: Client, path: str, body: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def _at_payment(client: Client) -> Decimal:
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    response = client.get("/checkout/payment/")
    assert response.status_code == 200
    return response.context["quote"].amount_due


def _billing(client: Client) -> Any:
    return client.post(
        "/checkout/payment/", {"same_as_shipping": "on"}, HTTP_ACCEPT="application/json"
    )


def test_the_page_mounts_the_payment_element_for_the_server_amount(
    client: Client, stripe: StripeAnswers
) -> None:
    due = _at_payment(client)
    response = client.get("/checkout/payment/")
    html = response.content.decode()
    assert 'id="payment-element"' in html
    assert 'id="card-element"' not in html
    assert 'data-payment-ui="payment_element"' in html
    options = response.context["payment_element_options"]
    assert options["amount"] == to_minor_units(due, currency="USD")
    assert options["currency"] == "usd"
    assert options["captureMethod"] == "manual"
    assert options["paymentMethodCreation"] == "manual"
    assert 'id="payment-element-options"' in html
    # Saving the billing address creates no SetupIntent (the double has no such route:
    # a call would fail the request).
    response = _billing(client)
    assert response.status_code == 200, response.content
    assert response.json()["setup_intent_secret"] == ""
    assert response.json()["billing_details"]["address"]["postal_code"] == "10001"


def test_a_confirmation_token_authorizes_the_server_amount_and_places_the_order(
    client: Client, stripe: StripeAnswers
) -> None:
    due = _at_payment(client)
    assert _billing(client).status_code == 200
    response = _post_json(client, "/checkout/pay/", {"confirmation_token_id": AUTHORIZED_TOKEN})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "authorized"
    (sent,) = stripe.created
    assert sent["amount"] == str(to_minor_units(due, currency="USD"))
    assert sent["capture_method"] == "manual"
    assert sent["confirm"] == "true"
    assert sent["confirmation_token"] == AUTHORIZED_TOKEN
    response = _post_json(client, "/checkout/place/", {})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "placed"
    (pi_id,) = stripe.intents
    order = Order.objects.get()
    assert order.attempt is not None
    assert order.attempt.payment_intent_id == pi_id
    # The documented API leaves the hold standing: the app captured it, for the amount due.
    assert stripe.captured == [pi_id]
    assert stripe.intents[pi_id]["amount_received"] == to_minor_units(due, currency="USD")


def test_three_d_secure_is_asked_once_then_the_order_is_placed(
    client: Client, stripe: StripeAnswers
) -> None:
    _at_payment(client)
    _billing(client)
    response = _post_json(client, "/checkout/pay/", {"confirmation_token_id": THREE_D_SECURE_TOKEN})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "requires_action"
    (pi_id,) = stripe.intents
    assert body["client_secret"] == stripe.intents[pi_id]["client_secret"]
    # Placing before the shopper answered the bank keeps the intent for the page.
    response = _post_json(client, "/checkout/place/", {})
    assert response.status_code == 409
    assert response.json()["reason"] == "authentication_required"
    stripe.authenticate(pi_id)  # the shopper completes handleNextAction's dialog
    response = _post_json(client, "/checkout/place/", {})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "placed"
    assert len(stripe.created) == 1  # one PaymentIntent, one authentication


def test_failed_authentication_asks_for_another_card(client: Client, stripe: StripeAnswers) -> None:
    _at_payment(client)
    _billing(client)
    _post_json(client, "/checkout/pay/", {"confirmation_token_id": THREE_D_SECURE_TOKEN})
    (pi_id,) = stripe.intents
    stripe.authenticate(pi_id, success=False)
    response = _post_json(client, "/checkout/place/", {})
    assert response.status_code == 409
    assert response.json()["step"] == "payment"
    assert "could not be authenticated" in response.json()["message"]
    response = _post_json(client, "/checkout/pay/", {"confirmation_token_id": AUTHORIZED_TOKEN})
    assert response.json()["status"] == "authorized"


def test_a_declined_card_is_explained_and_another_may_follow(
    client: Client, stripe: StripeAnswers
) -> None:
    _at_payment(client)
    _billing(client)
    response = _post_json(client, "/checkout/pay/", {"confirmation_token_id": DECLINED_TOKEN})
    assert response.status_code == 402
    assert response.json()["reason"] == "card_declined"
    assert response.json()["message"] == (
        "Your card was declined. Try another card or contact your bank."
    )
    attempt = CheckoutAttempt.objects.get()
    assert attempt.state == CheckoutAttempt.State.COLLECTING
    assert attempt.payment_intent_id == ""
    response = _post_json(client, "/checkout/pay/", {"confirmation_token_id": EXPIRED_TOKEN})
    assert response.status_code == 402
    assert response.json()["reason"] == "invalid_confirmation_token"
    response = _post_json(client, "/checkout/pay/", {"confirmation_token_id": AUTHORIZED_TOKEN})
    assert response.status_code == 200
    assert response.json()["status"] == "authorized"


def test_the_pay_endpoint_takes_only_the_active_forms_kind_of_card(
    client: Client, stripe: StripeAnswers, settings: Any
) -> None:
    _at_payment(client)
    for body in (
        {"payment_method_id": "pm_card_visa"},
        {"confirmation_token_id": "pi_123_secret_abc"},
        {"confirmation_token_id": ["ctoken_x"]},
        {"payment_method_id": 0},
        {"confirmation_token_id": 0},
    ):
        response = _post_json(client, "/checkout/pay/", body)
        assert response.status_code == 400, body
        assert response.json()["reason"] == "invalid_confirmation_token"
    settings.CHECKOUT_PAYMENT_UI = "card_element"
    for body in ({"confirmation_token_id": AUTHORIZED_TOKEN}, {"confirmation_token_id": 0}):
        response = _post_json(client, "/checkout/pay/", body)
        assert response.status_code == 400, body
        assert response.json()["reason"] == "invalid_payment_method"
    assert stripe.created == []
