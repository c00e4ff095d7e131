"""Raw-HTTP helpers for the sandbox tests: a keyed client, cart building, the guide body."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import requests
import stripe

from checkout.testing.servers import SandboxProcess
from checkout.testing.stripe_helpers import create_authorized_payment_intent

# The body of the "Place an Order" guide, verbatim except cart_id and gateway_id.
GUIDE_BODY: dict[str, Any] = {
    "cart_id": "abc-123-xyz",
    "billing": {
        "name": "Alice Buyer",
        "email": "alice@example.com",
        "phone": "555-1234",
        "address1": "123 Main St",
        "city": "Brooklyn",
        "state": "NY",
        "zip": "11201",
        "country": "US",
    },
    "shipping": {
        "name": "Alice Buyer",
        "address1": "123 Main St",
        "city": "Brooklyn",
        "state": "NY",
        "zip": "11201",
        "country": "US",
    },
    "shipping_method": {
        "method": "ground",
        "carrier": "UPS",
        "service": "UPS Ground",
        "cost": 8.99,
    },
    "payment": {
        "method": "stripe",
        "gateway_id": "pi_xxx",
    },
}

IPHONE_14_PRO = 10001  # first variant of product 1, always in stock at start
CABLE = 10177  # USB-C to Lightning cable, 9.99, 500 in stock
SCREEN_PROTECTOR = 10182  # 3.99


def guide_body(cart_id: str, gateway_id: str | None, **payment: Any) -> dict[str, Any]:
    body = copy.deepcopy(GUIDE_BODY)
    body["cart_id"] = cart_id
    if gateway_id is None:
        del body["payment"]["gateway_id"]
    else:
        body["payment"]["gateway_id"] = gateway_id
    body["payment"].update(payment)
    return body


class Client:
    """Sends raw requests to the sandbox with one API key."""

    def __init__(self, sandbox: SandboxProcess, key: str | None, header: str = "bearer") -> None:
        self.sandbox = sandbox
        self.key = key
        self.header = header
        self.session = requests.Session()

    def headers(self) -> dict[str, str]:
        if self.key is None:
            return {}
        if self.header == "bearer":
            return {"Authorization": f"Bearer {self.key}"}
        return {"X-API-Key": self.key}

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 15)
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return self.session.request(method, self.sandbox.base_url + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    # --- flows ------------------------------------------------------------------------
    def cart(self, *lines: tuple[int, int]) -> dict[str, Any]:
        response = self.post("/commerce-api/v1/cart")
        assert response.status_code == 201, response.text
        cart: dict[str, Any] = response.json()["data"]
        for variant_id, quantity in lines:
            response = self.post(
                f"/commerce-api/v1/cart/{cart['id']}/items",
                json={"variant_id": variant_id, "quantity": quantity},
            )
            assert response.status_code == 201, response.text
            cart = response.json()["data"]
        return cart

    def amount_due(
        self,
        cart_id: str,
        *,
        service: str = "UPS Ground",
        state: str = "NY",
        zip_code: str = "11201",
        promo_code: str | None = None,
        gift_card_code: str | None = None,
        email: str = "alice@example.com",
    ) -> Decimal:
        """Compute the amount to authorize from the helpers, as a storefront would."""
        cart = self.get(f"/commerce-api/v1/cart/{cart_id}").json()["data"]
        subtotal = Decimal(str(cart["subtotal"]))
        rates = self.post(
            "/commerce-api/v1/checkout/shipping-rates",
            json={
                "cart_id": cart_id,
                "address": {
                    "zip": zip_code,
                    "state": state,
                    "country": "US",
                    "city": "X",
                    "address1": "1 St",
                },
            },
        ).json()["data"]
        shipping = Decimal(str(next(r["price"] for r in rates if r["service"] == service)))
        discount = Decimal("0")
        if promo_code:
            promo = self.post(
                "/commerce-api/v1/checkout/validate-promo",
                json={"cart_id": cart_id, "code": promo_code, "email": email},
            ).json()["data"]
            discount = Decimal(str(promo["discount_amount"]))
            if promo["valid"] and promo["free_shipping"] and "Ground" in service:
                shipping = Decimal("0")
        tax = self.post(
            "/commerce-api/v1/checkout/calculate-tax",
            json={
                "cart_id": cart_id,
                "shipping_state": state,
                "promo_code": promo_code,
                "email": email,
            },
        ).json()["data"]
        total = subtotal + shipping - discount + Decimal(str(tax["tax_amount"]))
        if gift_card_code:
            card = self.post(
                "/commerce-api/v1/checkout/validate-gift-card", json={"code": gift_card_code}
            ).json()["data"]
            total -= min(total, Decimal(str(card["balance"])))
        return total


def authorize(stripe_client: stripe.StripeClient, amount: Decimal) -> str:
    intent = create_authorized_payment_intent(stripe_client, amount)
    assert intent.status == "requires_capture", intent.status
    return str(intent.id)


def dec(value: Any) -> Decimal:
    return Decimal(str(value))
