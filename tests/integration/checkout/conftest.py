"""Fixtures for the checkout service tests: live sandbox + localstripe, ready attempts.

The plugin (``checkout.testing.pytest_plugin``) is registered in ``tests/conftest.py``.
``live`` points the app's settings at the running servers and resets both;
``ready_attempt`` builds what a shopper would have built in the browser: a cart in
Spectra and a checkout attempt with contact, address and shipping method.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import stripe

from checkout.models import CheckoutAttempt
from checkout.services import orders
from checkout.testing.servers import LocalstripeProcess, SandboxProcess

from .support import ADDRESS, Live


@pytest.fixture
def live(
    checkout_live_settings: SandboxProcess,
    localstripe: LocalstripeProcess,
    localstripe_stripe_client: stripe.StripeClient,
) -> Live:
    """Point the app at the live sandbox and localstripe, both freshly reset."""
    return Live(checkout_live_settings, localstripe, localstripe_stripe_client)


@pytest.fixture
def ready_attempt(live: Live) -> Callable[..., CheckoutAttempt]:
    """Return a factory: a checkout attempt that reached the payment step."""

    def make(
        cart_id: str | None = None,
        *,
        service_code: str | None = None,
        address: dict[str, str] | None = None,
    ) -> CheckoutAttempt:
        attempt = orders.attempt_for_cart(cart_id=cart_id or live.cart(), owner="s1")
        assert attempt is not None
        attempt = orders.attempt_save_information(
            attempt=attempt,
            email="alice@example.com",
            phone="555-1234",
            shipping_address=address or ADDRESS,
        )
        rates = orders.attempt_shipping_rates(attempt=attempt)
        code = service_code or rates[0].service_code
        attempt = orders.attempt_choose_shipping(attempt=attempt, service_code=code)
        attempt = orders.attempt_set_billing(
            attempt=attempt, same_as_shipping=True, billing_address=None
        )
        assert orders.attempt_next_step(attempt) == "payment"
        return attempt

    return make
