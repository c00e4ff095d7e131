"""Contract: every 4xx the sandbox answers arrives as the matching typed rejection.

The client never sends malformed JSON on its own (bodies are ``json.dumps`` of a mapping),
so the 400 test injects a ``requests.Session`` that garbles the body on its way out: the
sandbox's real 400 answer then goes through the client's whole error path.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests
import stripe

from checkout.exceptions import (
    SpectraAuthenticationError,
    SpectraBadRequest,
    SpectraConflict,
    SpectraNotFound,
    SpectraPaymentRefused,
    SpectraPermissionError,
    SpectraRejection,
    SpectraTransientError,
    SpectraValidationError,
)

from .conftest import ADDRESS, CABLE, IPHONE, Contract

pytestmark = [pytest.mark.integration]


class GarblingSession(requests.Session):
    """Cuts every request body short, so it is no longer JSON."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("data") is not None:
            kwargs["data"] = kwargs["data"][:-3]
        return super().request(method, url, *args, **kwargs)


def test_400_malformed_json(contract: Contract) -> None:
    client = contract.client()
    cart = client.create_cart()
    garbling = contract.client(session=GarblingSession())

    with pytest.raises(SpectraBadRequest) as excinfo:
        garbling.add_cart_item(cart.id, variant_id=CABLE, quantity=1)
    with pytest.raises(SpectraBadRequest) as order_excinfo:
        garbling.create_order(contract.payload(cart.id, "pi_whatever"))

    err = excinfo.value
    assert isinstance(err, SpectraRejection)
    assert not isinstance(err, SpectraTransientError)
    assert (err.status, err.code) == (400, "invalid_json")
    assert (err.method, err.path) == ("POST", f"/commerce-api/v1/cart/{cart.id}/items")
    assert err.message
    assert "invalid_json" in err.body
    assert order_excinfo.value.code == "invalid_json"
    assert len(contract.recorder.attempts("POST", "/items")) == 1  # never retried
    assert contract.state()["orders"] == 0
    assert client.get_cart(cart.id).is_empty


def test_401_unknown_revoked_and_missing_key(contract: Contract) -> None:
    contract.add_key("spk_test_soon_gone", scopes="*")
    revocable = contract.client(api_key="spk_test_soon_gone")
    assert revocable.list_categories()

    with pytest.raises(SpectraAuthenticationError) as unknown:
        contract.client(api_key="spk_test_not_a_key").list_orders()
    contract.control("DELETE", "/keys/spk_test_soon_gone")
    with pytest.raises(SpectraAuthenticationError) as revoked:
        revocable.list_categories()
    with pytest.raises(SpectraAuthenticationError) as cart_call:
        contract.client(api_key="spk_test_not_a_key").create_cart()

    assert (unknown.value.status, unknown.value.code) == (401, "invalid_api_key")
    assert revoked.value.code == "invalid_api_key"
    assert cart_call.value.code == "invalid_api_key"
    assert len(contract.recorder.attempts("GET", "/api/v1/orders")) == 1  # never retried


def test_403_missing_scope(contract: Contract) -> None:
    contract.add_key("spk_test_catalog_only", scopes="catalog:read")
    client = contract.client(api_key="spk_test_catalog_only")
    full = contract.client()
    cart = contract.cart(full)

    assert client.list_products(per_page=1).total == 16
    with pytest.raises(SpectraPermissionError) as orders:
        client.list_orders()
    with pytest.raises(SpectraPermissionError) as webhooks:
        client.register_webhook(url="https://example.com/hooks")
    with pytest.raises(SpectraPermissionError) as place:
        client.create_order(contract.payload(cart.id, None, gift_card_code="CARDHUGEBALANCEX"))
    # Cart and checkout helpers need any valid key, no scope.
    assert client.get_cart(cart.id).id == cart.id

    assert (orders.value.status, orders.value.code) == (403, "insufficient_scope")
    assert "orders:read" in orders.value.message
    assert "webhooks:manage" in webhooks.value.message
    assert place.value.code == "insufficient_scope"
    assert contract.state()["orders"] == 0


@pytest.mark.default_contract("webhook_not_found from GET /webhooks/{id}")
def test_404_each_resource(contract: Contract) -> None:
    client = contract.client()
    order = contract.gift_card_order(client)
    cart = contract.cart(client)

    cases = [
        (lambda: client.get_product(9999), "product_not_found"),
        (lambda: client.get_cart("no-such-cart"), "cart_not_found"),
        (
            lambda: client.add_cart_item("no-such-cart", variant_id=CABLE, quantity=1),
            "cart_not_found",
        ),
        (lambda: client.remove_cart_item(cart.id, 424242), "item_not_found"),
        (lambda: client.update_cart_item(cart.id, 424242, quantity=2), "item_not_found"),
        (lambda: client.get_order(9999), "order_not_found"),
        (lambda: client.set_order_status(9999, "processing"), "order_not_found"),
        (lambda: client.set_tracking(9999, tracking_number="1Z", carrier="UPS"), "order_not_found"),
        (lambda: client.delete_webhook(9999), "webhook_not_found"),
        (lambda: client.list_webhook_deliveries(9999), "webhook_not_found"),
        # A live key never sees a test order.
        (
            lambda: contract.client(api_key=contract.sandbox.live_key).get_order(order.id),
            "order_not_found",
        ),
    ]
    for call, code in cases:
        with pytest.raises(SpectraNotFound) as excinfo:
            call()
        assert (excinfo.value.status, excinfo.value.code) == (404, code)
    assert contract.recorder.sleeps == []  # a 404 is never retried


@pytest.mark.default_contract("the API checks the PaymentIntent and refuses with 402")
def test_402_payment_refused(contract: Contract) -> None:
    client = contract.client()
    cart = contract.cart(client, (CABLE, 1))
    due = contract.amount_due(client, cart.id)
    too_small = contract.authorize(due - Decimal("0.01"))
    unconfirmed = contract.stripe.v1.payment_intents.create(
        params={"amount": 5000, "currency": "usd", "capture_method": "manual"}
    )

    with pytest.raises(SpectraPaymentRefused) as small:
        client.create_order(contract.payload(cart.id, too_small))
    with pytest.raises(SpectraPaymentRefused) as not_authorized:
        client.create_order(contract.payload(cart.id, unconfirmed.id))
    with pytest.raises(SpectraPaymentRefused) as unknown:
        client.create_order(contract.payload(cart.id, "pi_does_not_exist"))

    assert (small.value.status, small.value.code) == (402, "payment_amount_mismatch")
    assert not_authorized.value.code == "payment_not_authorized"
    assert unknown.value.code == "payment_not_authorized"
    assert contract.state()["orders"] == 0
    assert not client.get_cart(cart.id).locked
    assert len(contract.recorder.attempts("POST", "/api/v1/orders")) == 3
    # Refused is final for that PaymentIntent, not for the cart.
    assert (
        client.create_order(contract.payload(cart.id, contract.authorize(due))).cart_id == cart.id
    )


@pytest.mark.default_contract("409 cart_already_ordered and cart_locked")
def test_409_conflicts(contract: Contract) -> None:
    client = contract.client()
    order = contract.gift_card_order(client)

    with pytest.raises(SpectraConflict) as again:
        client.create_order(
            contract.payload(order.cart_id, None, gift_card_code="CARDHUGEBALANCEX")
        )
    with pytest.raises(SpectraConflict) as locked:
        client.add_cart_item(order.cart_id, variant_id=CABLE, quantity=1)
    with pytest.raises(SpectraConflict) as transition:
        client.set_order_status(order.id, "delivered")
    client.set_order_status(order.id, "processing")
    with pytest.raises(SpectraConflict) as untracked:
        client.set_order_status(order.id, "shipped")
    client.set_order_status(order.id, "cancelled")
    with pytest.raises(SpectraConflict) as closed:
        client.set_tracking(order.id, tracking_number="1Z1", carrier="UPS")

    assert (again.value.status, again.value.code) == (409, "cart_already_ordered")
    assert again.value.order_id == order.id
    assert again.value.order_number == order.order_number
    assert locked.value.code == "cart_locked"
    assert transition.value.code == "invalid_transition"
    assert transition.value.details.get("current_status") == "pending"
    assert untracked.value.code == "tracking_required"
    assert closed.value.code == "order_closed"
    assert contract.state()["orders"] == 1


def test_422_validation(contract: Contract) -> None:
    client = contract.client()
    cart = contract.cart(client, (CABLE, 1))
    body = contract.payload(cart.id, None, gift_card_code="CARDHUGEBALANCEX")
    del body["billing"]["zip"]
    body["shipping"]["state"] = ""

    with pytest.raises(SpectraValidationError) as order:
        client.create_order(body)
    with pytest.raises(SpectraValidationError) as variant:
        client.add_cart_item(cart.id, variant_id=1, quantity=1)
    with pytest.raises(SpectraValidationError) as stock:
        client.add_cart_item(cart.id, variant_id=IPHONE, quantity=26)
    with pytest.raises(SpectraValidationError) as abroad:
        client.get_shipping_rates(cart.id, address={**ADDRESS, "country": "CA"})
    with pytest.raises(SpectraValidationError) as hook:
        client.register_webhook(url="http://example.com/hooks")
    with pytest.raises(SpectraValidationError) as empty:
        client.create_order(contract.payload(client.create_cart().id, "pi_x"))
    with pytest.raises(SpectraValidationError) as no_tracking:
        client.set_tracking(contract.gift_card_order(client).id, tracking_number=" ", carrier="UPS")
    with pytest.raises(SpectraValidationError) as shipping:
        client.create_order(
            {
                **contract.payload(cart.id, "pi_x"),
                "shipping_method": {
                    "method": "ground",
                    "carrier": "UPS",
                    "service": "Mule Express",
                    "cost": 1,
                },
            }
        )

    assert (order.value.status, order.value.code) == (422, "validation_error")
    assert "billing.zip" in order.value.fields
    assert "shipping.state" in order.value.fields
    assert all(isinstance(m, str) and m for ms in order.value.fields.values() for m in ms)
    assert variant.value.code == "validation_error"
    assert "variant_id" in variant.value.fields
    assert stock.value.code == "insufficient_stock"
    assert abroad.value.code == "unsupported_destination"
    assert hook.value.code == "validation_error"
    assert "url" in hook.value.fields
    assert empty.value.code == "cart_empty"
    assert no_tracking.value.fields == {"tracking_number": ["This field is required."]}
    assert shipping.value.code == "invalid_shipping_method"
    assert contract.state()["orders"] == 1
    assert client.get_cart(cart.id).items[0].quantity == 1


def test_stripe_client_is_the_localstripe_one(contract: Contract) -> None:
    """Guard: the 402 checks above run against a sandbox that verifies payments."""
    assert contract.state()["stripe_enabled"] is True
    assert isinstance(contract.stripe, stripe.StripeClient)
