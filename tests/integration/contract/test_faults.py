"""Contract: transient failures from the live sandbox, and what the client repeats.

Faults come from the sandbox's control API: 5xx and 429 answers, hangs past the client's
read timeout, and an order created whose answer is dropped. Sleeps go to a recorder, so
backoff costs nothing; hangs are kept under a second.
"""

from __future__ import annotations

import time

import pytest

from checkout.exceptions import (
    SpectraRateLimited,
    SpectraRejection,
    SpectraTransientError,
    SpectraUnknownOutcome,
)
from checkout.testing.servers import free_port

from .conftest import CABLE, HUGE_GIFT_CARD, Contract, order_for_cart, wait_until

pytestmark = [pytest.mark.integration]

ORDER_ROUTE = "POST /api/v1/orders"
ORDER_GET_ROUTE = "GET /api/v1/orders/{id}"


def fired(contract: Contract, action: str) -> int:
    return int(contract.state()["route_faults"]["fired"][action])


# --- 5xx ---------------------------------------------------------------------------------


def test_get_retried_through_5xx_then_succeeds(contract: Contract) -> None:
    client = contract.client()
    order = contract.gift_card_order(client)
    contract.recorder.clear()
    contract.fault(ORDER_GET_ROUTE, "error", status=503, count=2)

    got = client.get_order(order.id)

    assert got.id == order.id
    calls = contract.recorder.attempts("GET", f"/orders/{order.id}")
    assert [(c.attempt, c.status, c.error_code, c.ok) for c in calls] == [
        (1, 503, "sandbox_fault", False),
        (2, 503, "sandbox_fault", False),
        (3, 200, "", True),
    ]
    assert len(contract.recorder.sleeps) == 2
    assert all(0 <= s <= 0.05 for s in contract.recorder.sleeps)
    assert fired(contract, "error") == 2


def test_get_gives_up_after_max_retries(contract: Contract) -> None:
    client = contract.client(max_retries=2)
    contract.fault("GET /api/v1/products", "error", status=502, count=5)

    with pytest.raises(SpectraTransientError) as excinfo:
        client.list_products()

    assert not isinstance(excinfo.value, SpectraUnknownOutcome)
    assert (excinfo.value.status, excinfo.value.code) == (502, "sandbox_fault")
    assert len(contract.recorder.attempts("GET", "/products")) == 3
    assert len(contract.recorder.sleeps) == 2
    assert contract.control("GET", "/faults")["routes"][0]["remaining"] == 2


def test_checkout_helper_post_is_retried_through_5xx(contract: Contract) -> None:
    client = contract.client()
    cart = contract.cart(client)
    contract.fault("POST /commerce-api/v1/checkout/calculate-tax", "error", status=500)

    assert client.calculate_tax(cart.id, shipping_state="NY").tax_amount > 0
    assert len(contract.recorder.attempts("POST", "/calculate-tax")) == 2


def test_write_is_not_retried_after_5xx(contract: Contract) -> None:
    client = contract.client()
    cart = client.create_cart()
    contract.fault("POST /commerce-api/v1/cart/{id}/items", "error", status=503)

    with pytest.raises(SpectraTransientError) as excinfo:
        client.add_cart_item(cart.id, variant_id=CABLE, quantity=1)

    assert not isinstance(excinfo.value, SpectraUnknownOutcome)
    assert len(contract.recorder.attempts("POST", "/items")) == 1
    assert contract.recorder.sleeps == []


def test_order_post_5xx_is_an_unknown_outcome_sent_once(contract: Contract) -> None:
    client = contract.client()
    cart = contract.cart(client)
    contract.fault(ORDER_ROUTE, "error", status=503, count=3)

    with pytest.raises(SpectraUnknownOutcome) as excinfo:
        client.create_order(contract.payload(cart.id, None, gift_card_code=HUGE_GIFT_CARD))

    assert (excinfo.value.status, excinfo.value.code) == (503, "sandbox_fault")
    assert len(contract.recorder.attempts("POST", "/api/v1/orders")) == 1
    assert contract.recorder.sleeps == []
    assert fired(contract, "error") == 1
    # The injected 5xx came before processing: resolving by lookup finds nothing.
    assert order_for_cart(client, cart.id) is None
    assert contract.state()["orders"] == 0


# --- 429 ---------------------------------------------------------------------------------


def test_get_waits_out_retry_after_then_succeeds(contract: Contract) -> None:
    client = contract.client()
    contract.fault("GET /api/v1/orders", "rate_limit", retry_after=7)

    page = client.list_orders()

    assert page.total == 0
    calls = contract.recorder.attempts("GET", "/api/v1/orders")
    assert [(c.status, c.error_code) for c in calls] == [(429, "rate_limited"), (200, "")]
    assert contract.recorder.sleeps == [7.0]


def test_rate_limited_key_retried_then_gives_up(contract: Contract) -> None:
    contract.add_key("spk_test_tiny", scopes="*", limits=[[2, 60]])
    client = contract.client(api_key="spk_test_tiny", max_retries=2, max_retry_after=120)

    client.list_categories()
    client.list_orders()
    with pytest.raises(SpectraRateLimited) as excinfo:
        client.get_order(1001)

    err = excinfo.value
    assert (err.status, err.code) == (429, "rate_limited")
    assert err.retry_after is not None
    assert 1 <= err.retry_after <= 60
    assert err.retry_after == int(err.retry_after)  # delta-seconds from the header
    assert len(contract.recorder.attempts("GET", "/orders/1001")) == 3
    assert len(contract.recorder.sleeps) == 2
    assert all(s >= 1 for s in contract.recorder.sleeps)


def test_retry_after_beyond_the_cap_goes_to_the_caller(contract: Contract) -> None:
    client = contract.client()
    contract.fault("GET /api/v1/categories", "rate_limit", retry_after=600)

    with pytest.raises(SpectraRateLimited) as excinfo:
        client.list_categories()

    assert excinfo.value.retry_after == 600.0
    assert len(contract.recorder.attempts("GET", "/categories")) == 1
    assert contract.recorder.sleeps == []


def test_order_post_429_is_not_retried_and_not_unknown(contract: Contract) -> None:
    client = contract.client()
    cart = contract.cart(client)
    contract.fault(ORDER_ROUTE, "rate_limit", retry_after=1)

    with pytest.raises(SpectraRateLimited) as excinfo:
        client.create_order(contract.payload(cart.id, None, gift_card_code=HUGE_GIFT_CARD))

    assert excinfo.value.retry_after == 1.0
    assert len(contract.recorder.attempts("POST", "/api/v1/orders")) == 1
    assert contract.state()["orders"] == 0


# --- Hangs past the read timeout ---------------------------------------------------------


def test_get_hang_past_read_timeout_is_retried(contract: Contract) -> None:
    client = contract.client(read_timeout=0.25)
    order = contract.gift_card_order(client)
    contract.recorder.clear()
    contract.fault(ORDER_GET_ROUTE, "hang", seconds=0.8, then="close")

    started = time.monotonic()
    got = client.get_order(order.id)

    assert got.id == order.id
    assert time.monotonic() - started < 0.8
    calls = contract.recorder.attempts("GET", f"/orders/{order.id}")
    assert [(c.status, c.error_code) for c in calls] == [(None, "timeout"), (200, "")]
    assert len(contract.recorder.sleeps) == 1


def test_get_hang_every_time_is_transient(contract: Contract) -> None:
    client = contract.client(read_timeout=0.2, max_retries=1)
    contract.fault("GET /commerce-api/v1/cart/{id}", "hang", seconds=0.6, count=2)

    with pytest.raises(SpectraTransientError) as excinfo:
        client.get_cart("any-cart")

    assert not isinstance(excinfo.value, SpectraUnknownOutcome)
    assert excinfo.value.code == "timeout"
    assert excinfo.value.status is None
    assert len(contract.recorder.attempts("GET", "/cart/any-cart")) == 2


def test_order_post_hang_then_close_is_unknown_and_no_order(contract: Contract) -> None:
    client = contract.client(order_timeout=0.2)
    cart = contract.cart(client)
    contract.fault(ORDER_ROUTE, "hang", seconds=0.6, then="close")

    with pytest.raises(SpectraUnknownOutcome) as excinfo:
        client.create_order(contract.payload(cart.id, None, gift_card_code=HUGE_GIFT_CARD))

    assert excinfo.value.code == "timeout"
    assert len(contract.recorder.attempts("POST", "/api/v1/orders")) == 1
    time.sleep(0.6)  # let the sandbox finish its hang (it drops the request unprocessed)
    assert order_for_cart(client, cart.id) is None
    assert contract.state()["orders"] == 0


@pytest.mark.default_contract("finds the order through the cart_id filter")
def test_order_post_hang_then_answer_is_unknown_but_placed(contract: Contract) -> None:
    client = contract.client(order_timeout=0.2)
    cart = contract.cart(client)
    contract.fault(ORDER_ROUTE, "hang", seconds=0.6, then="answer")

    with pytest.raises(SpectraUnknownOutcome) as excinfo:
        client.create_order(contract.payload(cart.id, None, gift_card_code=HUGE_GIFT_CARD))

    assert excinfo.value.code == "timeout"
    assert len(contract.recorder.attempts("POST", "/api/v1/orders")) == 1
    found = wait_until(lambda: order_for_cart(client, cart.id))
    assert found is not None
    assert found.cart_id == cart.id
    assert contract.state()["orders"] == 1


def test_write_hang_is_not_retried(contract: Contract) -> None:
    client = contract.client(read_timeout=0.2)
    order = contract.gift_card_order(client)
    contract.fault("PATCH /api/v1/orders/{id}/status", "hang", seconds=0.5, then="answer")

    with pytest.raises(SpectraTransientError) as excinfo:
        client.set_order_status(order.id, "processing")

    assert not isinstance(excinfo.value, SpectraUnknownOutcome)
    assert excinfo.value.code == "timeout"
    assert len(contract.recorder.attempts("PATCH", "/status")) == 1
    # It was applied late: a repeat would have hit 409 invalid_transition.
    assert wait_until(lambda: client.get_order(order.id).status == "processing")


# --- Created, then the answer dropped ----------------------------------------------------


@pytest.mark.default_contract("the cart_id filter and the sandbox capturing")
def test_create_then_drop_leaves_an_order_that_lookup_finds(contract: Contract) -> None:
    client = contract.client()
    cart = contract.cart(client, (CABLE, 3))
    intent_id = contract.authorize(contract.amount_due(client, cart.id))
    contract.control("POST", "/faults/orders/drop-after-create", {"count": 1})

    with pytest.raises(SpectraUnknownOutcome) as excinfo:
        client.create_order(contract.payload(cart.id, intent_id))

    assert excinfo.value.code == "connection_error"
    assert excinfo.value.status is None
    assert len(contract.recorder.attempts("POST", "/api/v1/orders")) == 1
    assert fired(contract, "drop_after_process") == 1
    state = contract.state()
    assert state["orders"] == 1
    assert state["captures"] == 1
    found = order_for_cart(client, cart.id)
    assert found is not None
    assert found.cart_id == cart.id
    assert found.payment_intent_id == intent_id
    assert found.items[0].quantity == 3
    # Sending it again would be refused, naming the order the lookup found.
    with pytest.raises(SpectraRejection) as again:
        client.create_order(contract.payload(cart.id, intent_id))
    assert again.value.code == "cart_already_ordered"
    assert again.value.details["order_id"] == found.id


# --- Nothing listening -------------------------------------------------------------------


def test_connection_refused_is_transient_never_unknown(contract: Contract) -> None:
    port = free_port()
    client = contract.client(
        api_base=f"http://127.0.0.1:{port}/api/v1",
        commerce_base=f"http://127.0.0.1:{port}/commerce-api/v1",
        max_retries=2,
    )

    with pytest.raises(SpectraTransientError) as order:
        client.create_order(contract.payload("cart", "pi_x"))
    with pytest.raises(SpectraTransientError) as write:
        client.create_cart()

    # Nothing was sent, so nothing can exist: not an unknown outcome.
    assert not isinstance(order.value, SpectraUnknownOutcome)
    assert order.value.code == "connect_error"
    assert len(contract.recorder.attempts("POST", "/api/v1/orders")) == 1
    # A write that never reached the server is safe to repeat.
    assert write.value.code == "connect_error"
    assert len(contract.recorder.attempts("POST", "/commerce-api/v1/cart")) == 3
