"""Fixtures for the web layer's test-client tests: settings pointed at the live sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from checkout.services.payments import clear_stripe_clients
from checkout.services.spectra import clear_spectra_clients
from checkout.testing.servers import LocalstripeProcess, SandboxProcess

ADDRESS = {
    "email": "shopper@example.com",
    "phone": "212-555-0100",
    "name": "Ada Lovelace",
    "address1": "1 Main St",
    "address2": "",
    "city": "New York",
    "state": "NY",
    "zip": "10001",
    "country": "US",
}


@pytest.fixture
def shop(
    settings: Any, sandbox_reset: SandboxProcess, localstripe: LocalstripeProcess
) -> Iterator[SandboxProcess]:
    """Point the app at a freshly reset sandbox and localstripe."""
    settings.CHECKOUT_SPECTRA_API_BASE = sandbox_reset.api_base
    settings.CHECKOUT_SPECTRA_COMMERCE_BASE = sandbox_reset.commerce_base
    settings.CHECKOUT_SPECTRA_API_KEY = sandbox_reset.test_key
    settings.CHECKOUT_STRIPE_API_BASE = localstripe.api_base
    settings.CHECKOUT_STRIPE_SECRET_KEY = localstripe.secret_key
    settings.CHECKOUT_STRIPE_PUBLISHABLE_KEY = localstripe.publishable_key
    settings.CHECKOUT_STRIPE_JS_URL = localstripe.js_url
    cache.clear()  # the catalog cache would outlive the sandbox reset
    clear_spectra_clients()
    clear_stripe_clients()
    yield sandbox_reset
    clear_spectra_clients()
    clear_stripe_clients()


def add_to_cart(client: Client, product_id: int = 2) -> None:
    """Add the product's first (always in stock) variant through the product page."""
    response = client.get(f"/products/{product_id}/")
    assert response.status_code == 200
    form = response.context["form"]
    data = {name: form[name].value() for name in form.fields}
    response = client.post(f"/products/{product_id}/", data)
    assert response.status_code == 302, response.content[:500]


def complete_information(client: Client, **overrides: str) -> None:
    response = client.post("/checkout/information/", {**ADDRESS, **overrides})
    assert response.status_code == 302, response.content[:2000]
    assert response["Location"] == "/checkout/shipping/"


def complete_shipping(client: Client) -> str:
    response = client.get("/checkout/shipping/")
    code = response.context["rates"][0].service_code
    response = client.post("/checkout/shipping/", {"service_code": code})
    assert response.status_code == 302
    assert response["Location"] == "/checkout/payment/"
    return str(code)
