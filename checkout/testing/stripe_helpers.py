"""Stripe-side helpers for tests against localstripe: a client and an authorized payment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import stripe

from checkout.money import to_minor_units

TEST_CARD = "4242424242424242"


def localstripe_client(
    api_base: str,
    secret_key: str = "sk_test_sandbox",  # noqa: S107 - localstripe accepts any sk_ key
) -> stripe.StripeClient:
    """A ``StripeClient`` pointed at localstripe, retries off (one failure = one call)."""
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base.rstrip("/")},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=10),
    )


def create_authorized_payment_intent(
    client: stripe.StripeClient,
    amount: Decimal | int | float | str,
    card_number: str = TEST_CARD,
    currency: str = "usd",
    metadata: dict[str, str] | None = None,
) -> Any:
    """Create and confirm a manual-capture PaymentIntent; it ends ``requires_capture``.

    ``amount`` in dollars (``Decimal("12.34")``) or integer cents. The PaymentMethod is
    made from a raw card number, which localstripe accepts (real Stripe does not).
    """
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": card_number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    params: dict[str, Any] = {
        # An int is in minor units already; anything else is an amount in ``currency``.
        "amount": (
            amount
            if isinstance(amount, int)
            else to_minor_units(Decimal(str(amount)), currency=currency)
        ),
        "currency": currency,
        "payment_method": method.id,
        "payment_method_types": ["card"],
        "capture_method": "manual",
        "confirm": True,
        "metadata": metadata or {},
    }
    return client.v1.payment_intents.create(params=params)  # type: ignore[arg-type]
