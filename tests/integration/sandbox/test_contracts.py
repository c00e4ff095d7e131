"""The two contracts over HTTP: each [ours] generosity, and what the documented one gives.

Every test runs the same calls on both contracts and checks what a client would see, so
a difference that disappears (or a default that changes) fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import stripe

from checkout.testing.pytest_plugin import SANDBOX_CONTRACTS
from checkout.testing.sandbox.contract import DOCUMENTED_ORDER_FIELDS
from checkout.testing.servers import SandboxProcess

from .helpers import CABLE, IPHONE_14_PRO, Client, authorize, guide_body

pytestmark = pytest.mark.integration
BOTH = pytest.mark.parametrize("sandbox_contract", SANDBOX_CONTRACTS, indirect=True)
DOCUMENTED_ONLY = pytest.mark.parametrize("sandbox_contract", ["documented"], indirect=True)


def place(api: Client, stripe_client: stripe.StripeClient, cart_id: str | None = None) -> Any:
    cart_id = cart_id or api.cart((CABLE, 1))["id"]
    pi = authorize(stripe_client, api.amount_due(cart_id))
    response = api.post("/api/v1/orders", json=guide_body(cart_id, pi))
    return response, pi


@BOTH
def test_order_answers_carry_the_response_sample_fields_only_when_documented(
    sandbox: SandboxProcess, api: Client, stripe_client: stripe.StripeClient
) -> None:
    response, _pi = place(api, stripe_client)
    assert response.status_code == 201, response.text
    created = response.json()["data"]
    fetched = api.get(f"/api/v1/orders/{created['id']}").json()["data"]
    listed = api.get("/api/v1/orders").json()["data"][0]
    tracked = api.post(
        f"/api/v1/orders/{created['id']}/tracking",
        json={"tracking_number": "1Z999AA10123456784", "carrier": "UPS"},
    ).json()["data"]
    moved = api.patch(
        f"/api/v1/orders/{created['id']}/status", json={"status": "processing"}
    ).json()["data"]

    for answer in (created, fetched, listed, tracked, moved):
        if sandbox.documented:
            assert sorted(answer) == sorted(DOCUMENTED_ORDER_FIELDS)
        else:
            assert {"cart_id", "email", "amount_charged", "updated_at"} <= set(answer)
    assert moved["status"] == "processing"


@BOTH
def test_cart_id_filter_is_ignored_when_documented(
    sandbox: SandboxProcess, api: Client, stripe_client: stripe.StripeClient
) -> None:
    first, _ = place(api, stripe_client)
    second, _ = place(api, stripe_client)
    cart_id = api.cart((CABLE, 1))["id"]  # a cart with no order at all

    listed = api.get("/api/v1/orders", params={"cart_id": cart_id}).json()["data"]

    if sandbox.documented:
        ids = [o["id"] for o in listed]
        assert ids == [second.json()["data"]["id"], first.json()["data"]["id"]]
    else:
        assert listed == []


@BOTH
def test_a_second_order_for_one_cart(
    sandbox: SandboxProcess, api: Client, stripe_client: stripe.StripeClient
) -> None:
    cart_id = api.cart((CABLE, 1))["id"]
    first, _ = place(api, stripe_client, cart_id)
    assert first.status_code == 201, first.text

    again = api.post("/api/v1/orders", json=guide_body(cart_id, "pi_second_try"))

    if sandbox.documented:
        assert again.status_code == 201, again.text
        assert again.json()["data"]["id"] != first.json()["data"]["id"]
        assert sandbox.state()["orders"] == 2
        cart = api.get(f"/commerce-api/v1/cart/{cart_id}").json()["data"]
        assert cart["locked"] is True
        assert "order_id" not in cart
    else:
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "cart_already_ordered"
        assert again.json()["error"]["order_id"] == first.json()["data"]["id"]
        assert sandbox.state()["orders"] == 1


@BOTH
def test_gateway_id_is_recorded_not_captured_when_documented(
    sandbox: SandboxProcess, api: Client, stripe_client: stripe.StripeClient
) -> None:
    response, pi = place(api, stripe_client)
    assert response.status_code == 201, response.text
    order_id = response.json()["data"]["id"]
    # The docs' sample says "captured" whatever happened to the PaymentIntent.
    assert response.json()["data"]["payment_status"] == "captured"

    intent = stripe_client.v1.payment_intents.retrieve(pi)
    state = sandbox.state()
    if sandbox.documented:
        assert intent.status == "requires_capture"
        assert state["captures"] == 0
        assert state["gateway_ids_recorded"] == 1
        assert state["payments"]["checks"] == 0  # type: ignore[index]
    else:
        assert intent.status == "succeeded"
        assert state["captures"] == 1

    # Cancelling refunds only what the sandbox itself captured.
    api.patch(f"/api/v1/orders/{order_id}/status", json={"status": "cancelled"})
    refunds = sandbox.state()["payments"]["refunds"]  # type: ignore[index]
    assert refunds == (0 if sandbox.documented else 1)


@BOTH
def test_an_unpaid_gateway_id_still_places_an_order_when_documented(
    sandbox: SandboxProcess, api: Client
) -> None:
    cart_id = api.cart((CABLE, 1))["id"]

    response = api.post("/api/v1/orders", json=guide_body(cart_id, "pi_never_authorized"))

    if sandbox.documented:
        assert response.status_code == 201, response.text
    else:
        assert response.status_code == 402
        assert response.json()["error"]["code"] == "payment_not_authorized"


@BOTH
def test_webhook_data_is_in_the_docs_shape_when_documented(
    sandbox: SandboxProcess, api: Client, stripe_client: stripe.StripeClient, webhook_receiver: Any
) -> None:
    api.post("/api/v1/webhooks", json={"url": webhook_receiver.url, "events": ["*"]})
    response, _ = place(api, stripe_client)
    order_id = response.json()["data"]["id"]
    requests.post(
        f"{sandbox.control_base}/orders/{order_id}/advance",
        json={"to": "delivered", "tracking_number": "1Z999AA10123456784", "carrier": "UPS"},
        timeout=10,
    ).raise_for_status()

    # created; processing, shipped and delivered each send status_changed + maybe one more
    received = webhook_receiver.wait_for(6, timeout=10)
    by_event: dict[str, list[dict[str, Any]]] = {}
    for delivery in received:
        payload = delivery.json()
        by_event.setdefault(payload["event"], []).append(payload["data"])
    delivered = by_event["order.delivered"][0]
    shipped = by_event["order.shipped"][0]
    created = by_event["order.created"][0]
    changed = by_event["order.status_changed"][-1]

    if sandbox.documented:
        assert sorted(delivered) == sorted(
            ["id", "order_number", "tracking_number", "shipping_carrier", "delivered_at"]
        )
        assert delivered["tracking_number"] == "1Z999AA10123456784"
        assert "status" not in shipped
        assert "grand_total" not in shipped
        assert sorted(created) == sorted(DOCUMENTED_ORDER_FIELDS)
        assert sorted(changed) == sorted(["id", "order_number", "status", "previous_status"])
    else:
        assert delivered["status"] == "delivered"
        assert "grand_total" in delivered
        assert "cart_id" in delivered
        assert changed["previous_status"] == "shipped"


@BOTH
def test_keys_have_tier_limits_when_documented(sandbox: SandboxProcess) -> None:
    state = requests.get(f"{sandbox.control_base}/state", timeout=5).json()["data"]
    assert state["contract"] == sandbox_contract_name(sandbox)

    free = Client(sandbox, "spk_test_free")
    answer = free.get("/api/v1/products")
    if sandbox.documented:
        assert answer.status_code == 200
        assert answer.headers["X-RateLimit-Limit"] == "100"
        assert int(answer.headers["X-RateLimit-Remaining"]) == 99
        standard = Client(sandbox, sandbox.test_key).get("/api/v1/products")
        assert standard.headers["X-RateLimit-Limit"] == "1000"
    else:
        assert answer.status_code == 401  # no Free key: the default keys are unlimited
        default = Client(sandbox, sandbox.test_key).get("/api/v1/products")
        assert "X-RateLimit-Limit" not in default.headers


@DOCUMENTED_ONLY
def test_free_key_runs_out_after_100_calls_when_documented(sandbox: SandboxProcess) -> None:
    free = Client(sandbox, "spk_live_free")
    codes = [free.get("/api/v1/orders").status_code for _ in range(101)]

    assert codes[:100] == [200] * 100
    assert codes[100] == 429


@BOTH
def test_live_orders_send_customer_emails_when_documented(
    sandbox: SandboxProcess, api: Client, live_api: Client
) -> None:
    live_cart = live_api.cart((CABLE, 1))["id"]
    live = live_api.post("/api/v1/orders", json=guide_body(live_cart, "pi_live_order"))
    test_cart = api.cart((IPHONE_14_PRO, 1))["id"]
    api.post("/api/v1/orders", json=guide_body(test_cart, "pi_test_order"))
    if not sandbox.documented:
        # Without Stripe verification both are refused or placed; either way no email.
        assert sandbox.customer_emails() == []
        assert sandbox.state()["customer_emails"] == 0
        return
    assert live.status_code == 201, live.text
    live_id = live.json()["data"]["id"]
    requests.post(
        f"{sandbox.control_base}/orders/{live_id}/advance", json={"to": "delivered"}, timeout=10
    ).raise_for_status()

    emails = sandbox.customer_emails()
    assert [e["kind"] for e in emails] == [
        "order_confirmation",
        "order_shipped",
        "order_delivered",
    ]
    assert {e["order_id"] for e in emails} == {live_id}
    assert {e["to"] for e in emails} == {"alice@example.com"}
    assert sandbox.state()["customer_emails_by_kind"] == {
        "order_confirmation": 1,
        "order_shipped": 1,
        "order_delivered": 1,
    }
    sandbox.reset()
    assert sandbox.customer_emails() == []


def sandbox_contract_name(sandbox: SandboxProcess) -> str:
    return "documented" if sandbox.documented else "default"


@BOTH
def test_listing_and_deleting_webhooks_are_absent_when_documented(
    sandbox: SandboxProcess, api: Client
) -> None:
    created = api.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["*"]}
    ).json()["data"]
    deliveries = api.get(f"/api/v1/webhooks/{created['id']}/deliveries")
    listed = api.get("/api/v1/webhooks")
    deleted = api.delete(f"/api/v1/webhooks/{created['id']}")

    assert deliveries.status_code == 200
    if sandbox.documented:
        assert (listed.status_code, deleted.status_code) == (404, 404)
    else:
        assert [w["id"] for w in listed.json()["data"]] == [created["id"]]
        assert deleted.status_code == 200
