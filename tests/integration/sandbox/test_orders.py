"""Placing orders: the guide's exact body, payment checks, conflicts, status moves."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
import stripe

from .helpers import CABLE, IPHONE_14_PRO, Client, authorize, dec, guide_body

pytestmark = [
    pytest.mark.integration,
    pytest.mark.default_contract(
        "the sandbox's own tests of its default profile (test_contracts.py runs both)"
    ),
]


def test_guide_body_places_a_captured_test_order(
    api: Client, stripe_client: stripe.StripeClient
) -> None:
    cart = api.cart((IPHONE_14_PRO, 1), (CABLE, 2))
    due = api.amount_due(cart["id"])
    pi = authorize(stripe_client, due)

    response = api.post("/api/v1/orders", json=guide_body(cart["id"], pi))

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["success"] is True
    order = body["data"]
    assert re.match(r"^ORD-\d{8}-\d{4}$", order["order_number"])
    assert isinstance(order["id"], int)
    assert order["status"] == "pending"
    assert order["payment_status"] == "captured"
    assert order["is_test"] is True
    assert order["cart_id"] == cart["id"]
    assert order["payment_intent_id"] == pi
    assert order["tracking_number"] is None
    assert order["shipping_carrier"] is None
    assert len(order["items"]) == 2
    total = (
        dec(order["subtotal"])
        + dec(order["shipping_total"])
        - dec(order["discount_total"])
        + dec(order["tax_total"])
    )
    assert dec(order["grand_total"]) == total
    assert dec(order["amount_charged"]) == dec(order["grand_total"]) - dec(order["gift_card_total"])
    assert dec(order["amount_charged"]) == due
    assert dec(order["tax_total"]) > 0  # NY is taxed
    assert re.match(r".*[+-]\d\d:\d\d$", order["created_at"])

    intent = stripe_client.v1.payment_intents.retrieve(pi)
    assert intent.status == "succeeded"
    assert int(intent.amount) == int(due * 100)

    fetched = api.get(f"/api/v1/orders/{order['id']}").json()["data"]
    assert fetched["order_number"] == order["order_number"]
    cart_after = api.get(f"/commerce-api/v1/cart/{cart['id']}").json()["data"]
    assert cart_after["locked"] is True
    assert cart_after["order_id"] == order["id"]


def test_larger_authorization_is_captured_partially(
    api: Client, stripe_client: stripe.StripeClient
) -> None:
    cart = api.cart((IPHONE_14_PRO, 1))
    due = api.amount_due(cart["id"])
    pi = authorize(stripe_client, due + Decimal("50.00"))
    order = api.post("/api/v1/orders", json=guide_body(cart["id"], pi)).json()["data"]
    assert dec(order["amount_charged"]) == due
    intent = stripe_client.v1.payment_intents.retrieve(pi)
    assert intent.status == "succeeded"


def test_second_order_for_a_cart_is_a_conflict_naming_the_order(
    api: Client, stripe_client: stripe.StripeClient
) -> None:
    cart = api.cart((IPHONE_14_PRO, 1))
    pi = authorize(stripe_client, api.amount_due(cart["id"]))
    first = api.post("/api/v1/orders", json=guide_body(cart["id"], pi)).json()["data"]

    again = api.post("/api/v1/orders", json=guide_body(cart["id"], pi))

    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "cart_already_ordered"
    assert error["order_id"] == first["id"]
    assert error["order_number"] == first["order_number"]
    assert api.sandbox.state()["orders"] == 1
    locked = api.post(
        f"/commerce-api/v1/cart/{cart['id']}/items", json={"variant_id": CABLE, "quantity": 1}
    )
    assert locked.status_code == 409
    assert locked.json()["error"]["code"] == "cart_locked"


@pytest.mark.parametrize("shortfall", [Decimal("0.01"), Decimal("100.00")])
def test_too_small_payment_intent_is_402_and_no_order(
    api: Client, stripe_client: stripe.StripeClient, shortfall: Decimal
) -> None:
    cart = api.cart((IPHONE_14_PRO, 1))
    stock_before = api.get("/api/v1/products/1").json()["data"]["variants"][0]
    pi = authorize(stripe_client, api.amount_due(cart["id"]) - shortfall)

    response = api.post("/api/v1/orders", json=guide_body(cart["id"], pi))

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "payment_amount_mismatch"
    assert api.sandbox.state()["orders"] == 0
    stock_after = api.get("/api/v1/products/1").json()["data"]["variants"][0]
    assert stock_after["quantity_available"] == stock_before["quantity_available"]
    assert stripe_client.v1.payment_intents.retrieve(pi).status == "requires_capture"
    # The cart is not locked: a correct payment then succeeds.
    good = authorize(stripe_client, api.amount_due(cart["id"]))
    assert api.post("/api/v1/orders", json=guide_body(cart["id"], good)).status_code == 201


def test_unauthorized_payment_intent_is_402(
    api: Client, stripe_client: stripe.StripeClient
) -> None:
    cart = api.cart((IPHONE_14_PRO, 1))
    params: dict[str, Any] = {
        "amount": 100000,
        "currency": "usd",
        "payment_method_types": ["card"],
    }
    unconfirmed = stripe_client.v1.payment_intents.create(params=params)  # type: ignore[arg-type]
    for gateway_id in (unconfirmed.id, "pi_does_not_exist", "ch_not_an_intent"):
        response = api.post("/api/v1/orders", json=guide_body(cart["id"], gateway_id))
        assert response.status_code == 402, response.text
        assert response.json()["error"]["code"] == "payment_not_authorized"
    assert api.sandbox.state()["orders"] == 0


def test_validation_errors_are_per_field(api: Client) -> None:
    cart = api.cart((IPHONE_14_PRO, 1))
    body = guide_body(cart["id"], "pi_x")
    body["billing"]["zip"] = "ABC"
    body["billing"]["email"] = "not-an-email"
    del body["shipping"]["city"]
    body["payment"]["method"] = "paypal"
    body["tax_amount"] = 0  # ignored anyway

    response = api.post("/api/v1/orders", json=body)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) >= {
        "billing.zip",
        "billing.email",
        "shipping.city",
        "payment.method",
    }
    unknown = guide_body(cart["id"], "pi_x")
    unknown["shipping_method"]["service"] = "UPS Teleport"
    response = api.post("/api/v1/orders", json=unknown)
    assert response.status_code == 422
    assert "shipping_method.service" in response.json()["error"]["fields"]


def test_client_numbers_are_ignored(api: Client, stripe_client: stripe.StripeClient) -> None:
    cart = api.cart((CABLE, 1))  # a cheap variant: shipping is charged
    due = api.amount_due(cart["id"])
    body = guide_body(cart["id"], authorize(stripe_client, due))
    body["shipping_method"]["cost"] = 0.01
    body["tax_amount"] = 0
    order = api.post("/api/v1/orders", json=body).json()["data"]
    assert dec(order["shipping_total"]) > Decimal("0.01")
    assert dec(order["tax_total"]) > 0
    assert dec(order["amount_charged"]) == due


def test_stock_is_allocated_and_released_on_cancel(
    api: Client, stripe_client: stripe.StripeClient
) -> None:
    product = api.get("/api/v1/products/1").json()["data"]
    variant = product["variants"][1]
    available = variant["quantity_available"]
    assert available > 0
    cart = api.cart((variant["id"], available))
    order = api.post(
        "/api/v1/orders",
        json=guide_body(cart["id"], authorize(stripe_client, api.amount_due(cart["id"]))),
    ).json()["data"]
    after = api.get("/api/v1/products/1").json()["data"]["variants"][1]
    assert after["quantity_available"] == 0
    other = api.post("/commerce-api/v1/cart").json()["data"]
    response = api.post(
        f"/commerce-api/v1/cart/{other['id']}/items",
        json={"variant_id": variant["id"], "quantity": 1},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "insufficient_stock"

    cancelled = api.patch(f"/api/v1/orders/{order['id']}/status", json={"status": "cancelled"})
    assert cancelled.status_code == 200
    assert cancelled.json()["data"]["payment_status"] == "voided"
    restored = api.get("/api/v1/products/1").json()["data"]["variants"][1]
    assert restored["quantity_available"] == available


def test_stock_gone_between_cart_and_order_is_422(
    api: Client, stripe_client: stripe.StripeClient
) -> None:
    variant = api.get("/api/v1/products/1").json()["data"]["variants"][1]
    n = variant["quantity_available"]
    first = api.cart((variant["id"], n))
    second = api.cart((variant["id"], n))
    api.post(
        "/api/v1/orders",
        json=guide_body(first["id"], authorize(stripe_client, api.amount_due(first["id"]))),
    )
    response = api.post(
        "/api/v1/orders",
        json=guide_body(second["id"], authorize(stripe_client, api.amount_due(second["id"]))),
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "insufficient_stock"


def test_status_transitions(api: Client, stripe_client: stripe.StripeClient) -> None:
    cart = api.cart((IPHONE_14_PRO, 1))
    order = api.post(
        "/api/v1/orders",
        json=guide_body(cart["id"], authorize(stripe_client, api.amount_due(cart["id"]))),
    ).json()["data"]
    path = f"/api/v1/orders/{order['id']}"

    bad = api.patch(f"{path}/status", json={"status": "delivered"})
    assert bad.status_code == 409
    assert bad.json()["error"]["code"] == "invalid_transition"
    assert api.patch(f"{path}/status", json={"status": "bogus"}).status_code == 422

    assert api.patch(f"{path}/status", json={"status": "processing"}).status_code == 200
    no_tracking = api.patch(f"{path}/status", json={"status": "shipped"})
    assert no_tracking.status_code == 409
    assert no_tracking.json()["error"]["code"] == "tracking_required"
    tracked = api.post(f"{path}/tracking", json={"tracking_number": "1Z999", "carrier": "UPS"})
    assert tracked.status_code == 200
    assert tracked.json()["data"]["tracking_number"] == "1Z999"
    assert tracked.json()["data"]["shipping_carrier"] == "UPS"
    assert api.patch(f"{path}/status", json={"status": "shipped"}).status_code == 200
    assert api.patch(f"{path}/status", json={"status": "cancelled"}).status_code == 409
    assert api.patch(f"{path}/status", json={"status": "delivered"}).status_code == 200
    refunded = api.patch(f"{path}/status", json={"status": "refunded"})
    assert refunded.status_code == 200
    assert refunded.json()["data"]["status"] == "refunded"
    assert refunded.json()["data"]["payment_status"] == "refunded"
    assert api.patch(f"{path}/status", json={"status": "processing"}).status_code == 409


def test_order_list_filters_and_pagination(
    api: Client, live_api: Client, stripe_client: stripe.StripeClient
) -> None:
    ids = []
    for _ in range(3):
        cart = api.cart((CABLE, 1))
        due = api.amount_due(cart["id"])
        ids.append(
            api.post(
                "/api/v1/orders", json=guide_body(cart["id"], authorize(stripe_client, due))
            ).json()["data"]["id"]
        )
    listing = api.get("/api/v1/orders", params={"per_page": 2})
    body = listing.json()
    assert [o["id"] for o in body["data"]] == [ids[2], ids[1]]
    assert body["pagination"] == {"total": 3, "page": 1, "per_page": 2, "total_pages": 2}
    page2 = api.get("/api/v1/orders", params={"per_page": 2, "page": 2}).json()
    assert [o["id"] for o in page2["data"]] == [ids[0]]
    past = api.get("/api/v1/orders", params={"per_page": 2, "page": 3}).json()
    assert past["data"] == []

    by_cart = api.get("/api/v1/orders", params={"cart_id": cart["id"]}).json()["data"]
    assert [o["id"] for o in by_cart] == [ids[2]]
    api.patch(f"/api/v1/orders/{ids[0]}/status", json={"status": "processing"})
    processing = api.get("/api/v1/orders", params={"status": "processing"}).json()["data"]
    assert [o["id"] for o in processing] == [ids[0]]
    stamp = api.get(f"/api/v1/orders/{ids[0]}").json()["data"]["updated_at"]
    since = api.get("/api/v1/orders", params={"updated_since": stamp}).json()["data"]
    assert ids[0] in [o["id"] for o in since]
    assert api.get("/api/v1/orders", params={"updated_since": "yesterday"}).status_code == 422

    # Live keys never see test orders.
    assert live_api.get("/api/v1/orders").json()["data"] == []
    assert live_api.get(f"/api/v1/orders/{ids[0]}").status_code == 404


def test_live_key_orders_are_not_test_and_test_key_sees_them(
    api: Client, live_api: Client, stripe_client: stripe.StripeClient
) -> None:
    cart = live_api.cart((CABLE, 1))
    due = live_api.amount_due(cart["id"])
    order = live_api.post(
        "/api/v1/orders", json=guide_body(cart["id"], authorize(stripe_client, due))
    ).json()["data"]
    assert order["is_test"] is False
    assert api.get(f"/api/v1/orders/{order['id']}").status_code == 200
