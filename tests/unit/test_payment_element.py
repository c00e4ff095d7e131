"""The Payment Element's server side: the setting, its system check and doctor line, and
the ConfirmationToken confirmation against Stripe's answers (``responses``)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import responses
from django.core import checks
from django.test import override_settings

from checkout.exceptions import PaymentDeclined, StripeProviderError
from checkout.management.commands.checkout_doctor import FAIL, OK, WARN, check_payment_ui
from checkout.services import payments
from checkout.services.payment_element import (
    is_confirmation_token_id,
    payment_element_options,
    payment_intent_confirm_token,
)
from checkout.testing.payment_element import (
    AUTHORIZED_TOKEN,
    DECLINED_TOKEN,
    EXPIRED_TOKEN,
    STRIPE_API,
    THREE_D_SECURE_TOKEN,
    StripeAnswers,
)

STRIPE = {
    "CHECKOUT_STRIPE_API_BASE": None,
    "CHECKOUT_STRIPE_SECRET_KEY": "sk_test_abc",
    "CHECKOUT_STRIPE_PUBLISHABLE_KEY": "pk_test_abc",
    "CHECKOUT_PAYMENT_UI": "payment_element",
}


@pytest.fixture
def stripe_answers() -> Iterator[StripeAnswers]:
    payments.clear_stripe_clients()
    with (
        override_settings(**STRIPE),
        responses.RequestsMock(assert_all_requests_are_fired=False) as mock,
    ):
        yield StripeAnswers(mock)
    payments.clear_stripe_clients()


def _confirm(token: str) -> payments.PaymentIntentInfo:
    return payment_intent_confirm_token(
        amount=Decimal("123.45"),
        currency="USD",
        confirmation_token_id=token,
        idempotency_key="checkout-x-pi-1",
        metadata={"checkout_attempt": "x"},
    )


# --- The setting's check and the doctor --------------------------------------------------


def _check_ids(**overrides: object) -> set[str]:
    with override_settings(**{**STRIPE, **overrides}):
        found = checks.run_checks()
    return {m.id for m in found if m.id and m.id.startswith("checkout.E06")}


def test_the_payment_element_against_stripe_passes_the_checks() -> None:
    assert _check_ids() == set()
    assert _check_ids(CHECKOUT_STRIPE_API_BASE="https://api.stripe.com") == set()


def test_the_card_element_against_localstripe_passes_the_checks() -> None:
    assert (
        _check_ids(
            CHECKOUT_PAYMENT_UI="card_element", CHECKOUT_STRIPE_API_BASE="http://127.0.0.1:8420"
        )
        == set()
    )


def test_the_payment_element_with_localstripe_is_refused() -> None:
    assert _check_ids(CHECKOUT_STRIPE_API_BASE="http://127.0.0.1:8420") == {"checkout.E061"}


def test_an_unknown_payment_ui_or_no_types_is_refused() -> None:
    assert _check_ids(CHECKOUT_PAYMENT_UI="payment_sheet") == {"checkout.E060"}
    assert _check_ids(CHECKOUT_PAYMENT_METHOD_TYPES=()) == {"checkout.E062"}


def test_the_doctor_says_which_payment_form_is_active() -> None:
    with override_settings(**STRIPE):
        result = check_payment_ui()
    assert result.status == OK
    assert "Payment Element" in result.detail
    assert "link" in result.detail
    with override_settings(
        **{
            **STRIPE,
            "CHECKOUT_PAYMENT_UI": "card_element",
            "CHECKOUT_STRIPE_API_BASE": "http://127.0.0.1:8420",
        }
    ):
        result = check_payment_ui()
    assert result.status == OK
    assert "Card Element" in result.detail
    assert "localstripe" in result.detail
    with override_settings(**{**STRIPE, "CHECKOUT_PAYMENT_UI": "card_element"}):
        assert check_payment_ui().status == WARN  # Stripe itself, without wallets or Link
    with override_settings(**{**STRIPE, "CHECKOUT_STRIPE_API_BASE": "http://127.0.0.1:8420"}):
        assert check_payment_ui().status == FAIL


# --- The page's options ----------------------------------------------------------------


def test_the_elements_options_carry_the_server_amount_in_cents() -> None:
    with override_settings(**STRIPE):
        options = payment_element_options(amount=Decimal("1234.50"), currency="USD")
    assert options == {
        "mode": "payment",
        "amount": 123450,
        "currency": "usd",
        "captureMethod": "manual",
        "paymentMethodCreation": "manual",
        "paymentMethodTypes": ["card", "link"],
    }


def test_only_confirmation_token_ids_are_taken() -> None:
    assert is_confirmation_token_id("ctoken_1NnQUf2eZvKYlo2CIObdtbnb")
    for value in ("", "pm_123", "ctoken_../x", "ctoken_" + "a" * 300, 42, None):
        assert not is_confirmation_token_id(value)


# --- Confirming with a ConfirmationToken -----------------------------------------------


def test_an_authorized_token_confirms_a_manual_capture_intent_for_the_server_amount(
    stripe_answers: StripeAnswers,
) -> None:
    intent = _confirm(AUTHORIZED_TOKEN)
    assert intent.requires_capture
    assert intent.amount == Decimal("123.45")
    (sent,) = stripe_answers.created
    assert sent["amount"] == "12345"
    assert sent["currency"] == "usd"
    assert sent["confirmation_token"] == AUTHORIZED_TOKEN
    assert sent["confirm"] == "true"
    assert sent["capture_method"] == "manual"
    assert sent["payment_method_types"] == ["card", "link"]
    assert "payment_method" not in sent  # the token carries it
    assert sent["metadata"] == {"checkout_attempt": "x"}


def test_three_d_secure_answers_with_the_client_secret(stripe_answers: StripeAnswers) -> None:
    intent = _confirm(THREE_D_SECURE_TOKEN)
    assert intent.requires_action
    assert intent.client_secret
    assert intent.client_secret.startswith(intent.id)


def test_a_decline_gives_the_shopper_a_message(stripe_answers: StripeAnswers) -> None:
    with pytest.raises(PaymentDeclined) as caught:
        _confirm(DECLINED_TOKEN)
    assert caught.value.code == "card_declined"
    assert caught.value.message == "Your card was declined. Try another card or contact your bank."


def test_an_unknown_or_expired_token_asks_for_the_details_again(
    stripe_answers: StripeAnswers,
) -> None:
    with pytest.raises(PaymentDeclined) as caught:
        _confirm(EXPIRED_TOKEN)
    assert caught.value.code == "invalid_confirmation_token"
    assert "enter them again" in caught.value.message


def test_stripe_trouble_is_a_provider_error() -> None:
    payments.clear_stripe_clients()
    with override_settings(**STRIPE), responses.RequestsMock() as mock:
        mock.add(
            "POST",
            f"{STRIPE_API}/v1/payment_intents",
            status=500,
            json={"error": {"type": "api_error", "message": "Something went wrong."}},
        )
        with pytest.raises(StripeProviderError):
            _confirm(AUTHORIZED_TOKEN)
    payments.clear_stripe_clients()
