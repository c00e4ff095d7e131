"""Stripe payments without a network: amounts per currency, decline messages, error mapping.

Stripe's HTTP is mocked with ``responses`` (the SDK uses ``requests`` underneath).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import responses
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from checkout.exceptions import PaymentDeclined, StripeProviderError
from checkout.services import payments
from checkout.services.payments import (
    decline_message,
    payment_intent_cancel,
    payment_intent_create,
    payment_intent_retrieve,
)

API = "http://stripe.test"


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    payments.clear_stripe_clients()
    yield
    payments.clear_stripe_clients()


def _intent(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": "pi_123",
        "object": "payment_intent",
        "status": "requires_capture",
        "amount": 1234,
        "currency": "usd",
        "client_secret": "pi_123_secret_abc",
        "capture_method": "manual",
        "metadata": {"checkout_attempt": "a-1", "cart_id": "c-1"},
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("insufficient_funds", "insufficient funds"),
        ("expired_card", "expired"),
        ("incorrect_cvc", "security code"),
        ("processing_error", "try again"),
        ("payment_intent_authentication_failure", "authenticated"),
    ],
)
def test_decline_messages_say_what_to_do(code: str, words: str) -> None:
    assert words in decline_message(code)


@pytest.mark.parametrize("code", ["lost_card", "stolen_card", "fraudulent", "card_declined", "?"])
def test_sensitive_declines_get_the_generic_message(code: str) -> None:
    message = decline_message(code)
    assert message == decline_message("card_declined")
    assert "stolen" not in message
    assert "lost" not in message


@responses.activate
def test_create_sends_manual_capture_with_idempotency_key_and_metadata() -> None:
    responses.post(f"{API}/v1/payment_intents", json=_intent())

    intent = payment_intent_create(
        amount=Decimal("12.34"),
        currency="USD",
        payment_method_id="pm_1",
        idempotency_key="checkout-a-1-pi-1",
        metadata={"checkout_attempt": "a-1", "cart_id": "c-1"},
    )

    assert intent.requires_capture
    assert intent.amount == Decimal("12.34")
    request = responses.calls[0].request
    assert request.headers["Idempotency-Key"] == "checkout-a-1-pi-1"
    body = str(request.body)
    for part in (
        "amount=1234",
        "currency=usd",
        "payment_method=pm_1",
        "capture_method=manual",
        "confirm=true",
        "metadata[checkout_attempt]=a-1",
    ):
        assert part in body.replace("%5B", "[").replace("%5D", "]"), part
    # localstripe refuses these; real Stripe does not need them.
    for refused in ("description", "receipt_email", "automatic_payment_methods", "return_url"):
        assert refused not in body


@responses.activate
@pytest.mark.parametrize(
    ("currency", "amount", "sent"),
    [
        ("JPY", Decimal("1234"), 1234),
        ("KWD", Decimal("12.345"), 12345),
        ("EUR", Decimal("12.34"), 1234),
    ],
)
def test_amounts_go_to_stripe_in_the_currency_minor_units(
    currency: str, amount: Decimal, sent: int
) -> None:
    responses.post(
        f"{API}/v1/payment_intents", json=_intent(amount=sent, currency=currency.lower())
    )
    intent = payment_intent_create(
        amount=amount,
        currency=currency,
        payment_method_id="pm_1",
        idempotency_key="checkout-a-1-pi-1",
        metadata={},
    )
    assert f"amount={sent}&" in str(responses.calls[0].request.body)
    assert intent.amount == amount
    assert intent.currency == currency.lower()


@responses.activate
def test_capture_and_refund_use_the_intent_currency() -> None:
    responses.post(
        f"{API}/v1/payment_intents/pi_123/capture",
        json=_intent(status="succeeded", amount=5000, currency="jpy"),
    )
    responses.post(
        f"{API}/v1/refunds",
        json={"id": "re_1", "object": "refund", "amount": 5000, "currency": "jpy"},
    )
    captured = payments.payment_intent_capture(
        payment_intent_id="pi_123", amount=Decimal("5000"), currency="jpy", idempotency_key="k1"
    )
    refunded = payments.payment_intent_refund(
        payment_intent_id="pi_123", amount=Decimal("5000"), currency="jpy", idempotency_key="k2"
    )
    assert "amount_to_capture=5000" in str(responses.calls[0].request.body)
    assert "amount=5000" in str(responses.calls[1].request.body)
    assert captured.received == refunded == Decimal("5000")


@responses.activate
def test_card_error_becomes_payment_declined_with_the_decline_code() -> None:
    responses.post(
        f"{API}/v1/payment_intents",
        status=402,
        json={
            "error": {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds.",
            }
        },
    )
    with pytest.raises(PaymentDeclined) as declined:
        payment_intent_create(
            amount=Decimal("5.00"),
            currency="usd",
            payment_method_id="pm_1",
            idempotency_key="k",
            metadata={},
        )
    assert declined.value.code == "card_declined"
    assert declined.value.decline_code == "insufficient_funds"
    assert declined.value.message == decline_message("insufficient_funds")


@responses.activate
def test_other_stripe_errors_are_provider_errors_without_secrets() -> None:
    responses.get(f"{API}/v1/payment_intents/pi_123", status=500, json={"error": {}})
    with pytest.raises(StripeProviderError) as failed:
        payment_intent_retrieve(payment_intent_id="pi_123")
    assert "sk_test" not in str(failed.value)


@responses.activate
def test_cancel_twice_is_not_an_error() -> None:
    responses.post(
        f"{API}/v1/payment_intents/pi_123/cancel",
        status=400,
        json={"error": {"type": "invalid_request_error", "message": "already canceled"}},
    )
    responses.get(f"{API}/v1/payment_intents/pi_123", json=_intent(status="canceled"))
    assert payment_intent_cancel(payment_intent_id="pi_123").status == "canceled"


@responses.activate
def test_string_amount_from_localstripe_is_read_as_cents() -> None:
    responses.get(f"{API}/v1/payment_intents/pi_123", json=_intent(amount="2500"))
    assert payment_intent_retrieve(payment_intent_id="pi_123").amount == Decimal("25.00")


def test_zero_amount_is_never_sent_to_stripe() -> None:
    with pytest.raises(ValueError, match="positive"):
        payment_intent_create(
            amount=Decimal("0.00"),
            currency="usd",
            payment_method_id="pm_1",
            idempotency_key="k",
            metadata={},
        )


def test_client_is_cached_per_configuration() -> None:
    first = payments.get_stripe_client()
    assert payments.get_stripe_client() is first
    with override_settings(CHECKOUT_STRIPE_API_BASE="http://other.test"):
        assert payments.get_stripe_client() is not first


def test_missing_secret_key_is_a_configuration_error() -> None:
    with override_settings(CHECKOUT_STRIPE_SECRET_KEY=""), pytest.raises(ImproperlyConfigured):
        payments.get_stripe_client()
