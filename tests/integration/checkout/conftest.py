"""Fixtures for the checkout service tests: live sandbox + localstripe, ready attempts.

The plugin (``checkout.testing.pytest_plugin``) is registered in ``tests/conftest.py``.
``live`` points the app's settings at the running servers and resets both;
``ready_attempt`` builds what a shopper would have built in the browser: a cart in
Spectra and a checkout attempt with contact, address and shipping method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import stripe

from checkout.models import CheckoutAttempt
from checkout.services import orders
from checkout.testing.servers import LocalstripeProcess, SandboxProcess

from .support import ADDRESS, Live


@pytest.fixture
def live(
    settings: Any,
    sandbox_reset: SandboxProcess,
    localstripe: LocalstripeProcess,
    localstripe_stripe_client: stripe.StripeClient,
) -> Live:
    """Point the app at the live sandbox and localstripe, both freshly reset."""
    settings.CHECKOUT_SPECTRA_API_BASE = sandbox_reset.api_base
    settings.CHECKOUT_SPECTRA_COMMERCE_BASE = sandbox_reset.commerce_base
    settings.CHECKOUT_SPECTRA_API_KEY = sandbox_reset.test_key
    settings.CHECKOUT_STRIPE_API_BASE = localstripe.api_base
    settings.CHECKOUT_STRIPE_SECRET_KEY = localstripe.secret_key
    settings.CHECKOUT_STRIPE_PUBLISHABLE_KEY = localstripe.publishable_key
    settings.CHECKOUT_STRIPE_JS_URL = localstripe.js_url
    settings.CHECKOUT_CATALOG_CACHE_TTL = 0
    return Live(sandbox_reset, localstripe, localstripe_stripe_client)


@pytest.fixture
def ready_attempt(live: Live) -> Callable[..., CheckoutAttempt]:
    """Return a factory: a checkout attempt that reached the payment step."""

    def make(
        cart_id: str | None = None,
        *,
        service_code: str | None = None,
        address: dict[str, str] | None = None,
    ) -> CheckoutAttempt:
        attempt = orders.attempt_for_cart(cart_id=cart_id or live.cart(), session_key="s1")
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
