"""Reading a webhook's ``data`` as a hint: the status from the event's name when missing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from checkout.services.inbox import _remote_from_event
from checkout.services.spectra import Order as RemoteOrder
from checkout.services.sync import OrderHint
from tests.unit.spectra_data import order

DOCS_DELIVERED = {
    "id": 1234,
    "order_number": "ORD-20260515-0042",
    "tracking_number": "1Z999AA10123456784",
    "shipping_carrier": "UPS",
    "delivered_at": "2026-05-18T14:23:00+00:00",
}


@pytest.mark.parametrize(
    ("event", "status"),
    [
        ("order.shipped", "shipped"),
        ("order.delivered", "delivered"),
        ("order.cancelled", "cancelled"),
    ],
)
def test_status_comes_from_the_event_name_when_data_has_none(event: str, status: str) -> None:
    hint = OrderHint.from_event(event, {"id": 7})
    assert hint is not None
    assert hint.status == status


def test_data_status_wins_over_the_event_name() -> None:
    hint = OrderHint.from_event("order.shipped", {"id": 7, "status": "delivered"})
    assert hint is not None
    assert hint.status == "delivered"


@pytest.mark.parametrize("event", ["order.status_changed", "order.created", "order.updated"])
def test_no_status_can_be_known_for_events_that_do_not_name_one(event: str) -> None:
    assert OrderHint.from_event(event, {"id": 7}) is None
    assert _remote_from_event(event, {"id": 7}) is None  # so the order is read


def test_the_docs_delivered_example_is_a_hint_with_its_tracking(settings: Any) -> None:
    settings.CHECKOUT_SPECTRA_API_KEY = "spk_live_abc"
    remote = _remote_from_event("order.delivered", DOCS_DELIVERED)
    assert isinstance(remote, OrderHint)
    assert remote.status == "delivered"
    assert remote.tracking_number == "1Z999AA10123456784"
    assert remote.grand_total is None
    assert remote.is_test is False  # the live key's environment: the payload has no is_test


def test_a_payload_without_is_test_belongs_to_the_test_keys_environment(settings: Any) -> None:
    settings.CHECKOUT_SPECTRA_API_KEY = "spk_test_abc"
    hint = OrderHint.from_event("order.delivered", DOCS_DELIVERED)
    assert hint is not None
    assert hint.is_test is True


def test_a_full_order_without_status_is_a_full_order_with_the_events_status() -> None:
    data = order(status=None, is_test=False)
    remote = _remote_from_event("order.shipped", data)
    assert isinstance(remote, RemoteOrder)
    assert remote.status == "shipped"
    assert remote.grand_total == Decimal("1087.96")
    assert remote.is_test is False


@pytest.mark.parametrize(
    "data",
    [{"id": "7"}, {"id": True}, {"id": 7, "grand_total": "lots"}, {"id": 7, "updated_at": "x"}],
)
def test_unusable_payloads_are_no_hint(data: dict[str, Any]) -> None:
    assert OrderHint.from_event("order.delivered", data) is None
