"""Abuse: card testing and code guessing are stopped per session and per address, with a
clear message and 429 (JSON on the machine endpoints).

They run against the real views; a first test also checks that each limited view still
carries its ``@rate_limited`` scope, so removing one fails loudly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from checkout import views
from checkout.models import CheckoutAttempt
from tests.integration.checkout.support import Live
from tests.integration.web.conftest import add_to_cart, complete_information, complete_shipping

from .conftest import Figures

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def decorated(view: Callable[..., Any], scope: str) -> bool:
    """Whether ``view`` carries ``@rate_limited(scope)`` anywhere in its decorator chain."""
    current: Any = view
    while current is not None:
        if getattr(current, "rate_limit_scope", None) == scope:
            return True
        current = getattr(current, "__wrapped__", None)
    return False


@pytest.mark.parametrize(
    ("view", "scope"),
    [
        (views.checkout_promo, "promo"),
        (views.checkout_gift_card, "gift_card"),
        (views.checkout_pay, "pay"),
        (views.checkout_place, "place"),
    ],
)
def test_each_guessable_endpoint_is_rate_limited(view: Callable[..., Any], scope: str) -> None:
    assert decorated(view, scope), f"checkout.views.{view.__name__} lost @rate_limited({scope!r})"


@pytest.fixture
def shopper(limits: Live, client: Client) -> Client:
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    client.get("/checkout/payment/")
    return client


def assert_limited_page(response: Any, words: str) -> None:
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert words in response.content.decode()


def test_promo_guessing_is_stopped_per_session(shopper: Client, figures: Figures) -> None:
    started = time.monotonic()
    statuses = [
        shopper.post("/checkout/promo/", {"promo-code": f"GUESS{i}"}).status_code for i in range(4)
    ]
    assert statuses == [400] * 4  # wrong codes, answered normally
    response = shopper.post("/checkout/promo/", {"promo-code": "SAVE10"})  # a real code
    assert_limited_page(response, "Too many promo code attempts")
    assert CheckoutAttempt.objects.get().promo_code == ""  # the guess never reached the API
    figures.record(
        "abuse-promo",
        scenario="Abuse: promo code guessing",
        done="5 promo codes from one session under a 4/10m session limit",
        expected="4 answered, the 5th 429 with a message and Retry-After, not applied",
        observed=f"answers {[*statuses, response.status_code]}; Retry-After "
        f"{response['Retry-After']}s; code not applied",
        seconds=time.monotonic() - started,
    )


def test_removing_a_code_is_never_limited_nor_a_blank_page(shopper: Client) -> None:
    applied = shopper.post("/checkout/promo/", {"promo-code": "SAVE10"})
    assert applied.status_code == 302
    for i in range(4):
        shopper.post("/checkout/promo/", {"promo-code": f"GUESS{i}"})
    assert shopper.post("/checkout/promo/", {"promo-code": "GUESS9"}).status_code == 429
    removed = shopper.post("/checkout/promo/", {"action": "remove"})
    assert removed.status_code == 302
    assert removed["Location"] == "/checkout/payment/"
    assert CheckoutAttempt.objects.get().promo_code == ""
    page = shopper.get("/checkout/payment/").content.decode()
    assert "Promo code removed." in page


def test_gift_card_guessing_is_stopped_per_session(shopper: Client) -> None:
    for i in range(4):
        assert (
            shopper.post("/checkout/gift-card/", {"gift-code": f"CARDGUESS{i:07d}"}).status_code
            == 400
        )
    response = shopper.post("/checkout/gift-card/", {"gift-code": "CARD25BALANCEABC"})
    assert_limited_page(response, "Too many gift card attempts")
    assert CheckoutAttempt.objects.get().gift_card_code == ""


def test_new_sessions_from_one_address_are_stopped_too(limits: Live) -> None:
    answers = []
    for _ in range(7):
        fresh = Client(REMOTE_ADDR="198.51.100.23")
        answers.append(fresh.post("/checkout/promo/", {"promo-code": "GUESS"}).status_code)
    assert answers[-1] == 429
    assert 429 not in answers[:6]
    elsewhere = Client(REMOTE_ADDR="198.51.100.24")
    assert elsewhere.post("/checkout/promo/", {"promo-code": "GUESS"}).status_code != 429


def test_card_testing_is_stopped_with_a_json_429(shopper: Client, figures: Figures) -> None:
    started = time.monotonic()
    answers = []
    for i in range(3):
        response = shopper.post(
            "/checkout/pay/",
            json.dumps({"payment_method_id": f"pm_fake{i}"}),
            content_type="application/json",
        )
        answers.append(response.status_code)
    assert 429 not in answers
    tries = CheckoutAttempt.objects.get().payment_tries
    response = shopper.post(
        "/checkout/pay/",
        json.dumps({"payment_method_id": "pm_fake9"}),
        content_type="application/json",
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert body["reason"] == body["error"]["code"] == "rate_limited"
    assert "Too many payment attempts" in body["message"]
    assert CheckoutAttempt.objects.get().payment_tries == tries  # Stripe was not called
    figures.record(
        "abuse-card-testing",
        scenario="Abuse: card testing on the pay endpoint",
        done="4 card tries from one session under a 3/10m session limit",
        expected="the 4th is 429 JSON {error: rate_limited} with Retry-After; Stripe not called",
        observed=f"answers {[*answers, 429]}; Retry-After {response['Retry-After']}s; "
        "no PaymentIntent for the refused try",
        seconds=time.monotonic() - started,
    )


def test_place_is_limited_with_a_json_429(shopper: Client) -> None:
    answers = [
        shopper.post("/checkout/place/", "{}", content_type="application/json").status_code
        for _ in range(6)
    ]
    assert 429 not in answers[:5]
    assert answers[5] == 429
