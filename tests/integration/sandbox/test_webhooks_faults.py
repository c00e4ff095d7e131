"""Webhook subscriptions, signed deliveries, and every fault the control API injects."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
import requests

from checkout.testing.receiver import WebhookReceiver
from checkout.testing.servers import SandboxProcess
from checkout.testing.signing import verify_webhook_signature

from .helpers import CABLE, Client, guide_body

BIG_CARD = "CARDHUGEBALANCEX"


def paid_by_gift_card(cart_id: str) -> dict[str, Any]:
    """An order body needing no Stripe call: the 5000.00 card covers a cable."""
    return guide_body(cart_id, None, gift_card_code=BIG_CARD)


pytestmark = [
    pytest.mark.integration,
    pytest.mark.default_contract(
        "the sandbox's own tests of its default profile (test_contracts.py runs both)"
    ),
]


def subscribe(api: Client, url: str, events: list[str] | None = None) -> dict[str, Any]:
    response = api.post("/api/v1/webhooks", json={"url": url, "events": events or ["*"]})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def place(api: Client) -> dict[str, Any]:
    cart = api.cart((CABLE, 1))
    response = api.post("/api/v1/orders", json=paid_by_gift_card(cart["id"]))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def control(sandbox: SandboxProcess, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{sandbox.control_base}{path}", json=body, timeout=10)
    assert response.status_code in {200, 201}, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_subscription_lifecycle_and_url_rules(api: Client) -> None:
    sub = subscribe(api, "https://merchant.example/hooks", ["order.created"])
    assert sub["secret"]
    assert sub["active"] is True
    assert sub["events"] == ["order.created"]
    listed = api.get("/api/v1/webhooks").json()["data"]
    assert [s["id"] for s in listed] == [sub["id"]]
    assert "secret" not in listed[0]
    for url in ("http://merchant.example/hooks", "ftp://x", "not a url"):
        response = api.post("/api/v1/webhooks", json={"url": url, "events": ["*"]})
        assert response.status_code == 422
        assert "url" in response.json()["error"]["fields"]
    for url in ("http://127.0.0.1:9/h", "http://localhost:9/h", "http://[::1]:9/h"):
        assert api.post("/api/v1/webhooks", json={"url": url, "events": ["*"]}).status_code == 201
    assert api.delete(f"/api/v1/webhooks/{sub['id']}").status_code == 200
    assert api.get(f"/api/v1/webhooks/{sub['id']}/deliveries").status_code == 404


def test_deliveries_are_signed_over_the_raw_body(
    api: Client, sandbox: SandboxProcess, webhook_receiver: WebhookReceiver
) -> None:
    sub = subscribe(api, webhook_receiver.url)
    order = place(api)
    control(sandbox, f"/orders/{order['id']}/advance", {"to": "shipped"})

    got = webhook_receiver.wait_for(4)
    time.sleep(0.3)
    assert len(webhook_receiver.snapshot()) == 4
    events = [r.event for r in got]
    assert events[:4] == [
        "order.created",
        "order.status_changed",
        "order.status_changed",
        "order.shipped",
    ]
    for received in got:
        expected = (
            "sha256=" + hmac.new(sub["secret"].encode(), received.body, hashlib.sha256).hexdigest()
        )
        assert received.headers["X-Webhook-Signature"] == expected
        assert verify_webhook_signature(received.body, sub["secret"], expected)
        assert received.headers["Content-Type"] == "application/json"
        payload = json.loads(received.body)
        assert payload["event"] == received.event
        assert payload["timestamp"].endswith("+00:00")
        assert payload["data"]["id"] == order["id"]
        assert payload["data"]["is_test"] is True
    shipped = json.loads(got[3].body)["data"]
    assert shipped["status"] == "shipped"
    assert shipped["tracking_number"]
    deliveries = api.get(f"/api/v1/webhooks/{sub['id']}/deliveries").json()["data"]
    assert len(deliveries) == 4
    assert deliveries[0]["status_code"] == 200
    assert {
        "id",
        "event",
        "url",
        "status_code",
        "response_body",
        "error",
        "duration_ms",
        "delivered_at",
    } <= set(deliveries[0])


def test_live_subscriptions_do_not_get_test_orders(
    api: Client, live_api: Client, webhook_receiver: WebhookReceiver
) -> None:
    subscribe(live_api, webhook_receiver.url)
    place(api)  # a test order
    time.sleep(0.5)
    assert webhook_receiver.snapshot() == []
    cart = live_api.cart((CABLE, 1))
    live_api.post("/api/v1/orders", json=paid_by_gift_card(cart["id"]))
    assert len(webhook_receiver.wait_for(1)) == 1


def test_fault_drop(
    api: Client, sandbox: SandboxProcess, webhook_receiver: WebhookReceiver
) -> None:
    subscribe(api, webhook_receiver.url)
    control(sandbox, "/faults/webhooks", {"drop": {"next": 1}})
    place(api)
    place(api)
    got = webhook_receiver.wait_for(1)
    time.sleep(0.3)
    assert len(webhook_receiver.snapshot()) == 1
    assert json.loads(got[0].body)["data"]["order_number"].endswith("0002")
    assert sandbox.state()["webhooks"]["dropped"] == 1  # type: ignore[index]


def test_fault_duplicate(
    api: Client, sandbox: SandboxProcess, webhook_receiver: WebhookReceiver
) -> None:
    subscribe(api, webhook_receiver.url)
    control(sandbox, "/faults/webhooks", {"duplicate": {"next": 1}})
    place(api)
    got = webhook_receiver.wait_for(2)
    assert len(got) == 2
    assert got[0].body == got[1].body


def test_fault_reorder(
    api: Client, sandbox: SandboxProcess, webhook_receiver: WebhookReceiver
) -> None:
    subscribe(api, webhook_receiver.url)
    control(sandbox, "/faults/webhooks", {"reorder": {"next": 1}})
    first = place(api)
    second = place(api)
    got = webhook_receiver.wait_for(2)
    ids = [json.loads(r.body)["data"]["id"] for r in got]
    assert ids == [second["id"], first["id"]]


def test_fault_delay(
    api: Client, sandbox: SandboxProcess, webhook_receiver: WebhookReceiver
) -> None:
    subscribe(api, webhook_receiver.url)
    control(sandbox, "/faults/webhooks", {"delay": {"next": 1, "seconds": 1.0}})
    started = time.time()
    place(api)
    time.sleep(0.5)
    assert webhook_receiver.snapshot() == []
    got = webhook_receiver.wait_for(1)
    assert got[0].received_at - started >= 0.9


def test_fault_5xx_then_normal(api: Client, sandbox: SandboxProcess) -> None:
    control(
        sandbox,
        "/faults",
        {"route": "GET /api/v1/products/{id}", "action": "error", "status": 503, "count": 2},
    )
    assert api.get("/api/v1/products/1").status_code == 503
    assert api.get("/api/v1/products/1").status_code == 503
    assert api.get("/api/v1/products/1").status_code == 200


def test_fault_429_with_headers(api: Client, sandbox: SandboxProcess) -> None:
    control(
        sandbox,
        "/faults",
        {"route": "POST /api/v1/orders", "action": "rate_limit", "retry_after": 7},
    )
    cart = api.cart((CABLE, 1))
    response = api.post("/api/v1/orders", json=paid_by_gift_card(cart["id"]))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert "X-RateLimit-Limit" in response.headers
    assert "X-RateLimit-Remaining" in response.headers
    assert "X-RateLimit-Reset" in response.headers
    assert sandbox.state()["orders"] == 0


def test_fault_hang_past_client_timeout(api: Client, sandbox: SandboxProcess) -> None:
    control(
        sandbox,
        "/faults",
        {"route": "GET /api/v1/categories", "action": "hang", "seconds": 1.5, "then": "close"},
    )
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.get("/api/v1/categories", timeout=0.5)
    assert api.get("/api/v1/categories").status_code == 200


def test_fault_hang_then_answer_creates_the_order(api: Client, sandbox: SandboxProcess) -> None:
    control(
        sandbox,
        "/faults",
        {"route": "POST /api/v1/orders", "action": "hang", "seconds": 1.0, "then": "answer"},
    )
    cart = api.cart((CABLE, 1))
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.post("/api/v1/orders", json=paid_by_gift_card(cart["id"]), timeout=0.3)
    time.sleep(1.0)
    found = api.get("/api/v1/orders", params={"cart_id": cart["id"]}).json()["data"]
    assert len(found) == 1


def test_fault_create_then_drop_connection(api: Client, sandbox: SandboxProcess) -> None:
    control(sandbox, "/faults/orders/drop-after-create", {"count": 1})
    cart = api.cart((CABLE, 1))
    with pytest.raises(requests.exceptions.ConnectionError):
        api.post("/api/v1/orders", json=paid_by_gift_card(cart["id"]))
    found = api.get("/api/v1/orders", params={"cart_id": cart["id"]}).json()["data"]
    assert len(found) == 1
    retry = api.post("/api/v1/orders", json=paid_by_gift_card(cart["id"]))
    assert retry.status_code == 409
    assert retry.json()["error"]["order_id"] == found[0]["id"]


def test_reset_clears_everything(api: Client, sandbox: SandboxProcess) -> None:
    place(api)
    subscribe(api, "https://merchant.example/h")
    control(sandbox, "/faults", {"route": "GET /api/v1/orders", "action": "error"})
    control(sandbox, "/reset", {})
    state = sandbox.state()
    assert state["orders"] == 0
    assert state["carts"] == 0
    assert state["webhooks"]["subscriptions"] == 0  # type: ignore[index]
    assert api.get("/api/v1/orders").status_code == 200
