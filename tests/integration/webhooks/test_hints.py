"""Webhooks are hints: partial payloads move orders, and what they lack is read from the API.

Each event is stored through the real endpoint (signed), then processed by the worker's
service; the API is ``responses``, so every call the processing makes is counted.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import responses
from django.test import Client
from django.utils import timezone

from checkout.exceptions import SpectraTransientError
from checkout.models import EmailNotification, Order, OrderEvent, WebhookEvent
from checkout.services.inbox import webhook_event_process
from checkout.services.spectra import clear_spectra_clients
from checkout.testing.signing import sign_webhook_body
from tests.unit.spectra_data import API, COMMERCE, ok

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SECRET = "whsec_hints_test"
TEST_KEY = "spk_test_hints"
LIVE_KEY = "spk_live_hints"
# The docs' own order.delivered example, field for field.
DOCS_DELIVERED = {
    "id": 1234,
    "order_number": "ORD-20260515-0042",
    "tracking_number": "1Z999AA10123456784",
    "shipping_carrier": "UPS",
    "delivered_at": "2026-05-18T14:23:00+00:00",
}
# The guide's response sample: all the documented contract's GET /orders/{id} answers.
SAMPLE = {
    "id": 1234,
    "order_number": "ORD-20260515-0042",
    "status": "processing",
    "payment_status": "captured",
    "grand_total": 1234.56,
    "is_test": True,
    "items": [],
}


@pytest.fixture(autouse=True)
def _app(settings: Any) -> Any:
    settings.CHECKOUT_WEBHOOK_SECRET = SECRET
    settings.CHECKOUT_SPECTRA_API_BASE = API
    settings.CHECKOUT_SPECTRA_COMMERCE_BASE = COMMERCE
    settings.CHECKOUT_SPECTRA_API_KEY = TEST_KEY
    settings.CHECKOUT_SPECTRA_MAX_RETRIES = 0
    clear_spectra_clients()
    yield settings
    clear_spectra_clients()


@pytest.fixture
def api() -> Any:
    """The Spectra API: any call not registered by the test fails it."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def make_order(status: str, *, is_test: bool = True, **fields: Any) -> Order:
    return Order.objects.create(
        spectra_id=1234,
        order_number="ORD-20260515-0042",
        status=status,
        payment_status="captured",
        is_test=is_test,
        email="alice@example.com",
        grand_total=Decimal("1234.56"),
        placed_at=timezone.now(),
        raw={"id": 1234, "status": status, "grand_total": 1234.56},
        **fields,
    )


def deliver(client: Client, event: str, data: dict[str, Any]) -> WebhookEvent:
    body = json.dumps(
        {"event": event, "timestamp": "2026-05-18T14:23:00+00:00", "data": data}
    ).encode()
    response = client.post(
        "/webhooks/spectra/",
        data=body,
        content_type="application/json",
        headers={"X-Webhook-Signature": sign_webhook_body(body, SECRET), "X-Webhook-Event": event},
    )
    assert response.status_code == 202, response.content
    return WebhookEvent.objects.get(pk=response.json()["id"])


def process(event: WebhookEvent) -> str:
    outcome = webhook_event_process(webhook_event_id=event.pk)
    event.refresh_from_db()
    return outcome


def test_the_docs_order_delivered_example_is_processed_once_without_an_api_call(
    client: Client, api: responses.RequestsMock
) -> None:
    order = make_order("shipped", tracking_number="1Z999AA10123456784", shipping_carrier="UPS")
    event = deliver(client, "order.delivered", DOCS_DELIVERED)

    assert process(event) == "processed"

    order.refresh_from_db()
    assert order.status == "delivered"
    assert order.grand_total == Decimal("1234.56")  # nothing lost to the partial payload
    assert order.raw["grand_total"] == 1234.56
    assert order.raw["delivered_at"] == DOCS_DELIVERED["delivered_at"]
    assert event.processing_attempts == 1
    assert event.error == ""
    assert EmailNotification.objects.filter(order=order, kind="delivered").count() == 1
    assert len(api.calls) == 0
    # A second try (a retry, a replay of the same row) changes nothing.
    assert process(event) == "processed"
    assert EmailNotification.objects.filter(order=order, kind="delivered").count() == 1


def test_a_status_change_without_a_status_reads_the_order(
    client: Client, api: responses.RequestsMock
) -> None:
    order = make_order("pending")
    api.get(f"{API}/orders/1234", json=ok(SAMPLE))
    event = deliver(client, "order.status_changed", {"id": 1234, "order_number": "X"})

    assert process(event) == "processed"

    order.refresh_from_db()
    assert order.status == "processing"
    assert len(api.calls) == 1
    moved = OrderEvent.objects.get(order=order, kind=OrderEvent.Kind.STATUS)
    assert "webhook order.status_changed" in moved.message


def test_shipping_with_no_tracking_known_reads_the_order_for_it(
    client: Client, api: responses.RequestsMock
) -> None:
    order = make_order("processing")
    api.get(
        f"{API}/orders/1234",
        json=ok(
            {**SAMPLE, "status": "shipped", "tracking_number": "1ZTRACK", "shipping_carrier": "UPS"}
        ),
    )
    event = deliver(client, "order.shipped", {"id": 1234, "order_number": "X"})

    assert process(event) == "processed"

    order.refresh_from_db()
    assert order.status == "shipped"
    assert order.tracking_number == "1ZTRACK"
    assert len(api.calls) == 1


def test_shipping_with_tracking_in_the_payload_needs_no_call(
    client: Client, api: responses.RequestsMock
) -> None:
    order = make_order("processing")
    event = deliver(
        client,
        "order.shipped",
        {"id": 1234, "order_number": "X", "tracking_number": "1ZHOOK", "shipping_carrier": "UPS"},
    )

    assert process(event) == "processed"

    order.refresh_from_db()
    assert (order.status, order.tracking_number) == ("shipped", "1ZHOOK")
    assert len(api.calls) == 0


def test_an_order_the_api_does_not_know_is_ignored(
    client: Client, api: responses.RequestsMock
) -> None:
    make_order("pending")
    api.get(
        f"{API}/orders/1234",
        status=404,
        json={"success": False, "error": {"code": "order_not_found", "message": "No order."}},
    )
    event = deliver(client, "order.status_changed", {"id": 1234})

    assert process(event) == "ignored"
    assert Order.objects.get().status == "pending"


def test_a_failed_read_fails_the_event_for_a_retry(
    client: Client, api: responses.RequestsMock
) -> None:
    make_order("pending")
    api.get(f"{API}/orders/1234", status=503, json={"success": False})
    event = deliver(client, "order.status_changed", {"id": 1234})

    with pytest.raises(SpectraTransientError):
        process(event)

    event.refresh_from_db()
    assert event.outcome == "failed"
    assert "503" in event.error
    assert Order.objects.get().status == "pending"


def test_an_unknown_order_is_read_only_when_adopting(
    client: Client, api: responses.RequestsMock, settings: Any
) -> None:
    event = deliver(client, "order.delivered", DOCS_DELIVERED)
    assert process(event) == "ignored"  # unknown, not adopted: no call either
    assert len(api.calls) == 0

    settings.CHECKOUT_ADOPT_UNKNOWN_ORDERS = True
    api.get(f"{API}/orders/1234", json=ok({**SAMPLE, "status": "delivered"}))
    event = deliver(client, "order.delivered", {**DOCS_DELIVERED, "delivered_at": "later"})

    assert process(event) == "processed"
    adopted = Order.objects.get()
    assert (adopted.status, adopted.is_test, adopted.grand_total) == (
        "delivered",
        True,
        Decimal("1234.56"),
    )


def test_a_partial_payload_moves_the_order_of_the_keys_environment_only(
    client: Client, api: responses.RequestsMock, settings: Any
) -> None:
    sandbox_era = make_order("shipped", is_test=True, tracking_number="1ZOLD")
    live = make_order("shipped", is_test=False, tracking_number="1ZLIVE")
    settings.CHECKOUT_SPECTRA_API_KEY = LIVE_KEY
    clear_spectra_clients()

    event = deliver(client, "order.delivered", DOCS_DELIVERED)
    assert process(event) == "processed"

    live.refresh_from_db()
    sandbox_era.refresh_from_db()
    assert live.status == "delivered"
    assert sandbox_era.status == "shipped"


def test_a_status_change_to_shipped_without_tracking_waits_for_order_shipped(
    client: Client, api: responses.RequestsMock
) -> None:
    order = make_order("processing")
    api.get(f"{API}/orders/1234", json=ok({**SAMPLE, "status": "shipped"}))
    changed = deliver(client, "order.status_changed", {"id": 1234, "status": "shipped"})

    assert process(changed) == "ignored"
    order.refresh_from_db()
    assert order.status == "processing"
    assert not EmailNotification.objects.filter(order=order, kind="shipped").exists()
    note = OrderEvent.objects.get(order=order, kind=OrderEvent.Kind.IGNORED)
    assert note.data["reason"] == "awaiting_tracking"

    shipped = deliver(
        client,
        "order.shipped",
        {"id": 1234, "order_number": "X", "tracking_number": "1ZHOOK", "shipping_carrier": "UPS"},
    )
    assert process(shipped) == "processed"
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == ("shipped", "1ZHOOK")
    assert EmailNotification.objects.filter(order=order, kind="shipped").count() == 1
