"""The matching rule that finds an order without ``cart_id`` (no database, no network)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from checkout.models import CheckoutAttempt
from checkout.services.orders.lookup import attempt_expected_total, order_match
from checkout.services.spectra import Order as RemoteOrder

SUBMITTED = timezone.now()
START = SUBMITTED - dt.timedelta(minutes=1)
ITEMS = Counter({("SKU-1", 2): 1})


def _attempt() -> CheckoutAttempt:
    return CheckoutAttempt(
        cart_id="cart-1",
        email="ada@example.com",
        payment_intent_id="pi_ours",
        subtotal=Decimal("100.00"),
        shipping_total=Decimal("8.99"),
        discount_total=Decimal("10.00"),
        tax_estimate=Decimal("7.92"),
        submitted_at=SUBMITTED,
    )


def _order(**fields: Any) -> RemoteOrder:
    data: dict[str, Any] = {
        "id": 1,
        "order_number": f"ORD-{SUBMITTED:%Y%m%d}-0001",
        "status": "pending",
        "payment_status": "captured",
        "grand_total": 106.91,
        "is_test": True,
        "items": [{"sku": "SKU-1", "quantity": 2}],
    }
    data.update(fields)
    return RemoteOrder.from_api(data)


def test_expected_total_is_the_apis_own_quote() -> None:
    assert attempt_expected_total(_attempt()) == Decimal("106.91")


@pytest.mark.parametrize(
    ("fields", "known", "expected"),
    [
        ({"gateway_id": "pi_ours", "grand_total": 1.0}, False, "ours"),
        ({"cart_id": "cart-1"}, False, "ours"),
        ({"gateway_id": "pi_other"}, False, "not_ours"),
        ({"cart_id": "cart-2"}, False, "not_ours"),
        ({}, True, "not_ours"),  # recorded here for another attempt
        ({"email": "bob@example.com"}, False, "not_ours"),
        ({"grand_total": 106.90}, False, "not_ours"),
        ({"items": [{"sku": "SKU-1", "quantity": 1}]}, False, "not_ours"),
        ({"created_at": (START - dt.timedelta(seconds=1)).isoformat()}, False, "older"),
        ({"order_number": "ORD-20200101-0001"}, False, "older"),
        ({}, False, "candidate"),  # the docs' sample: nothing contradicts, the total matches
        ({"email": "ADA@example.com"}, False, "candidate"),
    ],
)
def test_the_matching_rule(fields: dict[str, Any], known: bool, expected: str) -> None:
    verdict = order_match(_attempt(), _order(**fields), cart_items=ITEMS, known=known, start=START)
    assert verdict == expected
