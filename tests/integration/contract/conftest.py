"""Fixtures for the client contract tests: a real ``SpectraClient`` against the live sandbox.

``contract`` resets the sandbox and localstripe, clears the catalog cache and hands out a
``Contract``: client factory (no-op sleep and call recorder injected, so retries cost no
time), control-API helpers (faults, keys, operator advance) and order building.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import requests
import stripe
from django.core.cache import cache

from checkout.services.spectra import MAX_PER_PAGE, CallRecord, Cart, Order, SpectraClient
from checkout.testing.servers import LocalstripeProcess, SandboxProcess
from checkout.testing.stripe_helpers import create_authorized_payment_intent

CABLE = 10177  # USB-C to Lightning cable, 9.99, 500 in stock
IPHONE = 10001  # iPhone 14 Pro 128GB, 698.99, 25 in stock at start
HUGE_GIFT_CARD = "CARDHUGEBALANCEX"  # 5000.00: covers an order, no PaymentIntent needed

ADDRESS: dict[str, str] = {
    "name": "Alice Buyer",
    "address1": "123 Main St",
    "city": "Brooklyn",
    "state": "NY",
    "zip": "11201",
    "country": "US",
}


@dataclass
class Recorder:
    """What the client did: every HTTP attempt (``on_call``) and every backoff sleep."""

    calls: list[CallRecord] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def on_call(self, record: CallRecord) -> None:
        self.calls.append(record)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def attempts(self, method: str, path_suffix: str) -> list[CallRecord]:
        return [c for c in self.calls if c.method == method and c.path.endswith(path_suffix)]

    def clear(self) -> None:
        self.calls.clear()
        self.sleeps.clear()


@dataclass
class Contract:
    """Handles for one contract test."""

    sandbox: SandboxProcess
    localstripe: LocalstripeProcess
    stripe: stripe.StripeClient
    recorder: Recorder = field(default_factory=Recorder)

    # --- clients -------------------------------------------------------------------
    def client(self, **overrides: Any) -> SpectraClient:
        """A client on the sandbox's test key; overrides go to ``SpectraClient``."""
        options: dict[str, Any] = {
            "api_base": self.sandbox.api_base,
            "commerce_base": self.sandbox.commerce_base,
            "api_key": self.sandbox.test_key,
            "max_retries": 3,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            "cache_ttl": 0,
            "on_call": self.recorder.on_call,
            "sleep": self.recorder.sleep,
            "rng": random.Random(7),
        }
        options.update(overrides)
        return SpectraClient(**options)

    # --- control API ---------------------------------------------------------------
    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(
            method, f"{self.sandbox.control_base}{path}", json=body, timeout=10
        )
        assert response.ok, response.text
        return response.json()["data"]

    def fault(self, route: str, action: str, **spec: Any) -> dict[str, Any]:
        data: dict[str, Any] = self.control(
            "POST", "/faults", {"route": route, "action": action, **spec}
        )
        return data

    def add_key(self, key: str, **spec: Any) -> None:
        self.control("POST", "/keys", {"key": key, **spec})

    def advance(self, order_id: int, to: str, **extra: Any) -> dict[str, Any]:
        data: dict[str, Any] = self.control(
            "POST", f"/orders/{order_id}/advance", {"to": to, **extra}
        )
        return data

    def state(self) -> dict[str, Any]:
        return dict(self.sandbox.state())

    def requests_served(self) -> int:
        return int(self.state()["requests_served"])

    # --- orders --------------------------------------------------------------------
    def cart(self, client: SpectraClient, *lines: tuple[int, int]) -> Cart:
        cart = client.create_cart()
        for variant_id, quantity in lines or ((CABLE, 1),):
            cart = client.add_cart_item(cart.id, variant_id=variant_id, quantity=quantity)
        return cart

    def amount_due(self, client: SpectraClient, cart_id: str) -> Decimal:
        """Subtotal + UPS Ground + NY tax, from the client's own helper calls."""
        cart = client.get_cart(cart_id)
        rate = next(
            r
            for r in client.get_shipping_rates(cart_id, address=ADDRESS)
            if r.service == "UPS Ground"
        )
        tax = client.calculate_tax(cart_id, shipping_state="NY")
        return cart.subtotal + rate.price + tax.tax_amount

    def authorize(self, amount: Decimal) -> str:
        intent = create_authorized_payment_intent(self.stripe, amount)
        assert intent.status == "requires_capture", intent.status
        return str(intent.id)

    def payload(self, cart_id: str, gateway_id: str | None, **payment: Any) -> dict[str, Any]:
        """The guide's ``POST /orders`` body for a cart shipped by UPS Ground to Brooklyn."""
        billing = {**ADDRESS, "email": "alice@example.com", "phone": "555-1234"}
        body: dict[str, Any] = {
            "cart_id": cart_id,
            "billing": billing,
            "shipping": copy.deepcopy(ADDRESS),
            "shipping_method": {
                "method": "ground",
                "carrier": "UPS",
                "service": "UPS Ground",
                "cost": Decimal("8.99"),
            },
            "payment": {"method": "stripe", **payment},
        }
        if gateway_id is not None:
            body["payment"]["gateway_id"] = gateway_id
        return body

    def paid_order(self, client: SpectraClient, *lines: tuple[int, int]) -> tuple[Order, str]:
        """Place an order paid by an authorized PaymentIntent; return it and the PI id."""
        cart = self.cart(client, *lines)
        intent_id = self.authorize(self.amount_due(client, cart.id))
        return client.create_order(self.payload(cart.id, intent_id)), intent_id

    def gift_card_order(self, client: SpectraClient) -> Order:
        """Place an order paid in full by a gift card (no Stripe round trip)."""
        cart = self.cart(client)
        return client.create_order(self.payload(cart.id, None, gift_card_code=HUGE_GIFT_CARD))


def order_for_cart(client: SpectraClient, cart_id: str) -> Order | None:
    """The order placed from a cart, through the sandbox's own ``cart_id`` filter ([ours]).

    The app does not use that filter (``services.orders.lookup`` works without it); these
    tests check the sandbox still offers it. Each answer's ``cart_id`` is checked too.
    """
    page = client.list_orders(cart_id=cart_id, per_page=MAX_PER_PAGE)
    return next((order for order in page.items if order.cart_id == cart_id), None)


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll ``predicate`` until it returns something truthy; return it (or the last value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(0.05)


@pytest.fixture
def contract(
    sandbox_reset: SandboxProcess,
    localstripe: LocalstripeProcess,
    localstripe_stripe_client: stripe.StripeClient,
) -> Iterator[Contract]:
    """A fresh sandbox, an empty catalog cache and the helpers above."""
    cache.clear()
    yield Contract(sandbox_reset, localstripe, localstripe_stripe_client)
    cache.clear()
