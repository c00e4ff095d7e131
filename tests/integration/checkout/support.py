"""Shared helpers for the checkout service tests: the ``Live`` handle and a test address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
import stripe

from checkout.services.spectra import SpectraClient, Variant, get_spectra_client
from checkout.testing.servers import LocalstripeProcess, SandboxProcess

ADDRESS = {
    "name": "Alice Buyer",
    "address1": "123 Main St",
    "address2": "",
    "city": "Brooklyn",
    "state": "NY",
    "zip": "11201",
    "country": "US",
}


@dataclass
class Live:
    """Handles on the running servers for one test."""

    sandbox: SandboxProcess
    localstripe: LocalstripeProcess
    stripe: stripe.StripeClient

    @property
    def spectra(self) -> SpectraClient:
        return get_spectra_client()

    def state(self) -> dict[str, Any]:
        return self.sandbox.state()

    def fault(self, **spec: Any) -> None:
        response = requests.post(f"{self.sandbox.control_base}/faults", json=spec, timeout=5)
        response.raise_for_status()

    def drop_after_create(self, count: int = 1) -> None:
        response = requests.post(
            f"{self.sandbox.control_base}/faults/orders/drop-after-create",
            json={"count": count},
            timeout=5,
        )
        response.raise_for_status()

    def payment_method(self, card: str = "4242424242424242") -> str:
        """Return a PaymentMethod id for a test card, as Stripe.js would hand it over."""
        method = self.stripe.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            }
        )
        return str(method.id)

    def intent(self, payment_intent_id: str) -> dict[str, Any]:
        return self.stripe.v1.payment_intents.retrieve(payment_intent_id).to_dict()

    def intents(self) -> list[dict[str, Any]]:
        listed = self.stripe.v1.payment_intents.list(params={"limit": 100})
        return [i.to_dict() for i in listed.data]

    def captures(self) -> int:
        """PaymentIntents captured on localstripe, whoever captured them: Spectra (the
        default contract) or the app (the documented one, where Spectra only records the
        ``gateway_id``). The sandbox's own ``captures`` count is the first kind only."""
        intents = self.intents()
        assert len(intents) < 100, "more PaymentIntents than one page: count them another way"
        return sum(1 for i in intents if i["status"] == "succeeded")

    def authenticate(self, payment_intent_id: str, client_secret: str, *, success: bool) -> None:
        """Complete (or fail) 3-D Secure as the page would with Stripe.js."""
        response = requests.post(
            f"{self.localstripe.api_base}/v1/payment_intents/{payment_intent_id}/_authenticate",
            params={"success": "true" if success else "false"},
            json={"key": self.localstripe.publishable_key, "client_secret": client_secret},
            timeout=10,
        )
        response.raise_for_status()

    def variant(self, *, min_stock: int = 5, max_price: float = 400.0) -> Variant:
        """Return an in-stock variant under a price (the seeded catalog is deterministic)."""
        for product in self.spectra.iter_products():
            for variant in product.variants:
                if variant.quantity_available >= min_stock and variant.price <= max_price:
                    return variant
        raise AssertionError("no suitable variant in the sandbox catalog")

    def cart(self, *items: tuple[Variant, int]) -> str:
        client = self.spectra
        cart = client.create_cart()
        for variant, quantity in items or ((self.variant(), 1),):
            client.add_cart_item(cart.id, variant_id=variant.id, quantity=quantity)
        return cart.id
