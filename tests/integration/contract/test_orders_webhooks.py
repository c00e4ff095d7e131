"""Contract: order placement, reads, lists, status and tracking, and webhook management."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from checkout.exceptions import SpectraNotFound
from checkout.services.spectra import (
    Address,
    Order,
    OrderItem,
    ShippingMethod,
    WebhookDelivery,
    WebhookSubscription,
)
from checkout.testing.receiver import WebhookReceiver
from checkout.testing.signing import sign_webhook_body

from .conftest import CABLE, Contract, order_for_cart, wait_until

pytestmark = [pytest.mark.integration]


@pytest.mark.default_contract("full order answers (cart_id, totals, addresses)")
def test_create_order_answers_a_typed_order(contract: Contract) -> None:
    client = contract.client()
    cart = contract.cart(client, (CABLE, 2))
    due = contract.amount_due(client, cart.id)
    intent_id = contract.authorize(due)

    order = client.create_order(contract.payload(cart.id, intent_id))

    assert isinstance(order, Order)
    assert order.id >= 1001
    assert re.fullmatch(r"ORD-\d{8}-\d{4}", order.order_number)
    assert (order.status, order.payment_status) == ("pending", "captured")
    assert order.is_test
    assert order.cart_id == cart.id
    assert order.payment_intent_id == intent_id
    assert order.email == "alice@example.com"
    assert order.grand_total == due
    assert order.amount_charged == due
    assert order.subtotal == Decimal("19.98")
    assert isinstance(order.tax_total, Decimal)
    assert isinstance(order.shipping_total, Decimal)
    assert isinstance(order.subtotal, Decimal)
    assert isinstance(order.discount_total, Decimal)
    assert order.grand_total == (
        order.subtotal + order.shipping_total - order.discount_total + order.tax_total
    )
    (item,) = order.items
    assert isinstance(item, OrderItem)
    assert (item.variant_id, item.quantity, item.unit_price) == (CABLE, 2, Decimal("9.99"))
    assert isinstance(order.billing, Address)
    assert order.billing.phone == "555-1234"
    assert isinstance(order.shipping, Address)
    assert order.shipping.zip == "11201"
    assert isinstance(order.shipping_method, ShippingMethod)
    assert order.shipping_method.service == "UPS Ground"
    assert isinstance(order.created_at, dt.datetime)
    assert order.created_at.tzinfo is not None
    assert order.order_number[4:12] == order.created_at.astimezone(dt.UTC).strftime("%Y%m%d")
    assert contract.state()["captures"] == 1
    assert client.get_cart(cart.id).locked
    assert client.get_cart(cart.id).order_id == order.id
    # The capture took exactly the amount charged.
    captured = contract.stripe.v1.payment_intents.retrieve(intent_id)
    assert captured.status == "succeeded"


@pytest.mark.default_contract("full order answers (amount_charged)")
def test_gift_card_order_needs_no_payment_intent(contract: Contract) -> None:
    order = contract.gift_card_order(contract.client())

    assert order.amount_charged == Decimal("0.00")
    assert order.gift_card_total == order.grand_total > Decimal("0")
    assert order.payment_status == "captured"


@pytest.mark.default_contract("GET /orders filters by cart_id")
def test_get_order_list_orders_and_the_cart_filter(contract: Contract) -> None:
    client = contract.client()
    placed = [contract.gift_card_order(client) for _ in range(5)]

    got = client.get_order(placed[2].id)
    page = client.list_orders(per_page=2)
    walked = list(client.iter_orders(per_page=2))
    found = order_for_cart(client, placed[3].cart_id)

    assert got == placed[2]
    assert got.created_at == placed[2].created_at
    assert (page.total, page.total_pages, page.per_page) == (5, 3, 2)
    assert [o.id for o in page.items] == [placed[4].id, placed[3].id]  # newest first
    assert [o.id for o in walked] == [o.id for o in reversed(placed)]
    assert len(contract.recorder.attempts("GET", "/api/v1/orders")) == 1 + 3 + 1
    assert found is not None
    assert found.id == placed[3].id
    assert order_for_cart(client, "no-such-cart") is None
    assert order_for_cart(client, client.create_cart().id) is None


def test_iter_orders_yields_each_order_once_while_the_list_shifts(contract: Contract) -> None:
    client = contract.client()
    placed = [contract.gift_card_order(client) for _ in range(4)]
    walk = client.iter_orders(per_page=2)

    seen = [next(walk), next(walk)]
    newcomer = contract.gift_card_order(client)  # pushes every order down one place
    seen.extend(walk)

    ids = [o.id for o in seen]
    assert len(ids) == len(set(ids))
    assert {o.id for o in placed} <= set(ids)
    assert set(ids) <= {o.id for o in placed} | {newcomer.id}


def test_live_key_does_not_list_test_orders(contract: Contract) -> None:
    contract.gift_card_order(contract.client())

    live = contract.client(api_key=contract.sandbox.live_key)

    assert live.list_orders().total == 0
    assert list(live.iter_orders()) == []


@pytest.mark.default_contract("full order answers and the cart_id filter")
def test_list_orders_filters(contract: Contract) -> None:
    client = contract.client()
    first, second, third = (contract.gift_card_order(client) for _ in range(3))
    # Timestamps have one-second resolution: move the sandbox clock an hour on before
    # the status changes, so updated_since can split the orders.
    contract.control("POST", "/clock", {"offset_seconds": 3600})
    client.set_order_status(second.id, "processing")
    client.set_order_status(third.id, "cancelled")
    assert first.updated_at is not None
    later = first.updated_at + dt.timedelta(minutes=30)

    processing = client.list_orders(status="processing")
    several = list(client.iter_orders(status="processing,cancelled"))
    by_cart = client.list_orders(cart_id=first.cart_id)
    since = list(client.iter_orders(updated_since=later))
    future = client.list_orders(updated_since=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))

    assert [o.id for o in processing.items] == [second.id]
    assert {o.id for o in several} == {second.id, third.id}
    assert [o.id for o in by_cart.items] == [first.id]
    assert {o.id for o in since} == {second.id, third.id}
    assert future.items == ()
    assert future.total == 0
    with pytest.raises(ValueError, match="timezone-aware"):
        client.list_orders(updated_since=dt.datetime(2026, 1, 1))


@pytest.mark.default_contract("full order answers (tracking) to writes and reads")
def test_tracking_then_shipped_then_delivered(contract: Contract) -> None:
    client = contract.client()
    order = contract.gift_card_order(client)

    processing = client.set_order_status(order.id, "processing")
    tracked = client.set_tracking(order.id, tracking_number="1Z999AA10123456784", carrier="UPS")
    shipped = client.set_order_status(order.id, "shipped")
    delivered = client.set_order_status(order.id, "delivered")
    # The sandbox answers writes with the order (the client allows thinner answers).
    assert processing is not None
    assert tracked is not None
    assert shipped is not None
    assert delivered is not None

    assert processing.status == "processing"
    assert (tracked.tracking_number, tracked.shipping_carrier) == ("1Z999AA10123456784", "UPS")
    assert tracked.status == "processing"
    assert shipped.status == "shipped"
    assert shipped.tracking_number == "1Z999AA10123456784"
    assert shipped.updated_at is not None
    assert order.updated_at is not None
    assert shipped.updated_at >= order.updated_at
    assert delivered.status == "delivered"
    assert not delivered.is_final
    refunded = client.set_order_status(order.id, "refunded")
    assert refunded is not None
    assert refunded.is_final
    assert client.get_order(order.id).payment_status == "refunded"


@pytest.mark.default_contract("GET /webhooks and DELETE /webhooks/{id}")
def test_webhook_register_list_deliveries_delete(
    contract: Contract, webhook_receiver: WebhookReceiver
) -> None:
    client = contract.client()

    created = client.register_webhook(url=webhook_receiver.url, events=["*"])
    listed = client.list_webhooks()

    assert isinstance(created, WebhookSubscription)
    assert created.secret
    assert created.url == webhook_receiver.url
    assert created.events == ("*",)
    assert created.active
    assert created.secret not in repr(created)
    assert isinstance(created.created_at, dt.datetime)
    (same,) = listed
    assert same.id == created.id
    assert same.url == created.url
    assert same.secret is None  # shown once, at creation

    order = contract.gift_card_order(client)
    contract.advance(order.id, "shipped", tracking_number="1ZTRACK", carrier="UPS")
    events = ["order.created", "order.status_changed", "order.status_changed", "order.shipped"]
    received = webhook_receiver.wait_for(len(events), timeout=10)
    assert [r.event for r in received] == events
    for request in received:
        assert request.headers["X-Webhook-Signature"] == sign_webhook_body(
            request.body, created.secret
        )

    deliveries = wait_until(
        lambda: (d := client.list_webhook_deliveries(created.id)) and len(d) >= 4 and d
    )
    assert len(deliveries) == 4
    assert all(isinstance(d, WebhookDelivery) for d in deliveries)
    assert [d.event for d in deliveries] == list(reversed(events))  # newest first
    for delivery in deliveries:
        assert delivery.ok
        assert delivery.status_code == 200
        assert delivery.error == ""
        assert delivery.url == webhook_receiver.url
        assert isinstance(delivery.delivered_at, dt.datetime)
        assert delivery.delivered_at.tzinfo is not None
        assert delivery.duration_ms is not None
        assert delivery.duration_ms >= 0

    client.delete_webhook(created.id)
    assert client.list_webhooks() == []
    with pytest.raises(SpectraNotFound) as excinfo:
        client.list_webhook_deliveries(created.id)
    assert excinfo.value.code == "webhook_not_found"
