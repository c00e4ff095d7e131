"""Staff actions when Spectra's write answers are thinner than an order.

The docs show no answer for ``PATCH /orders/{id}/status`` or ``POST .../tracking``. When
the answer is not a whole order, the action reads the order back and applies that: staff
see the move, the timeline records it, the shopper gets the email.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import responses
from django.contrib.auth.models import User
from django.utils import timezone

from checkout.models import EmailNotification, Order, OrderEvent
from checkout.services import staff
from checkout.services.spectra import clear_spectra_clients
from tests.unit.spectra_data import API, COMMERCE, ok

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SAMPLE = {
    "id": 4321,
    "order_number": "ORD-20260515-0042",
    "payment_status": "captured",
    "grand_total": 120.5,
    "is_test": True,
    "items": [],
}
THIN_ANSWERS = [
    {"success": True},
    {"success": True, "data": {"id": 4321, "status": "shipped"}},
    {"success": True, "data": None},
]


@pytest.fixture(autouse=True)
def _app(settings: Any) -> Iterator[None]:
    settings.CHECKOUT_SPECTRA_API_BASE = API
    settings.CHECKOUT_SPECTRA_COMMERCE_BASE = COMMERCE
    settings.CHECKOUT_SPECTRA_API_KEY = "spk_test_thin"
    settings.CHECKOUT_SPECTRA_MAX_RETRIES = 0
    clear_spectra_clients()
    yield
    clear_spectra_clients()


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def boss(django_user_model: type[User]) -> User:
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")


def make_order(status: str) -> Order:
    return Order.objects.create(
        spectra_id=4321,
        order_number="ORD-20260515-0042",
        status=status,
        is_test=True,
        email="alice@example.com",
        grand_total=Decimal("120.50"),
        placed_at=timezone.now(),
    )


@pytest.mark.parametrize("thin", THIN_ANSWERS, ids=["success-only", "id-status", "null"])
def test_ship_with_thin_answers_reads_the_order_back(
    api: responses.RequestsMock, boss: User, thin: dict[str, Any]
) -> None:
    order = make_order("processing")
    api.post(f"{API}/orders/4321/tracking", json=thin)
    api.patch(f"{API}/orders/4321/status", json=thin)
    # Read back after tracking (still processing), then after the move (shipped).
    api.get(f"{API}/orders/4321", json=ok({**SAMPLE, "status": "processing"}))
    api.get(
        f"{API}/orders/4321",
        json=ok(
            {**SAMPLE, "status": "shipped", "tracking_number": "1Z9", "shipping_carrier": "UPS"}
        ),
    )

    shipped = staff.order_ship(order=order, tracking_number="1Z9", carrier="UPS", actor=boss)

    assert shipped.status == "shipped"
    assert shipped.tracking_number == "1Z9"
    assert EmailNotification.objects.filter(order=order, kind="shipped").count() == 1
    assert OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.STATUS).count() == 1


def test_deliver_with_a_thin_answer_reads_the_order_back(
    api: responses.RequestsMock, boss: User
) -> None:
    order = make_order("shipped")
    api.patch(f"{API}/orders/4321/status", json={"success": True})
    api.get(f"{API}/orders/4321", json=ok({**SAMPLE, "status": "delivered"}))

    delivered = staff.order_deliver(order=order, actor=boss)

    assert delivered.status == "delivered"
    assert EmailNotification.objects.filter(order=order, kind="delivered").count() == 1


def test_a_full_write_answer_needs_no_read(api: responses.RequestsMock, boss: User) -> None:
    order = make_order("shipped")
    api.patch(f"{API}/orders/4321/status", json=ok({**SAMPLE, "status": "delivered"}))

    assert staff.order_deliver(order=order, actor=boss).status == "delivered"
    assert len(api.calls) == 1
