"""Staff cancel settles the card payment itself: it refunds or verifies, and says which.

The default sandbox refunds on cancel; an API that only records the cancellation is played
with ``responses`` on the PATCH. Stripe is localstripe either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
import responses
from django.contrib.auth import get_user_model

from checkout.models import CheckoutAttempt, Order
from checkout.services import orders, payments, staff

from .support import Live

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MakeAttempt = Callable[..., CheckoutAttempt]


@pytest.fixture
def clerk() -> object:
    return get_user_model().objects.create_user("clerk", "clerk@example.com", "pw")


def _placed(live: Live, ready_attempt: MakeAttempt) -> Order:
    attempt = ready_attempt()
    orders.attempt_pay(attempt=attempt, payment_method_id=live.payment_method())
    result = orders.order_place(attempt=attempt)
    assert result.order is not None
    return Order.objects.get(pk=result.order.pk)


def _staff_messages(order: Order) -> list[str]:
    return list(order.events.filter(kind="staff").values_list("message", flat=True))


@pytest.fixture
def thin_cancel(live: Live) -> Iterator[responses.RequestsMock]:
    """Spectra cancels the order but refunds nothing."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(live.sandbox.api_base.rsplit("/api/", 1)[0])
        mock.add_passthru(live.localstripe.api_base)
        yield mock


def test_cancel_verifies_the_refund_spectra_made(
    live: Live, ready_attempt: MakeAttempt, clerk: object
) -> None:
    order = _placed(live, ready_attempt)

    staff.order_cancel(order=order, actor=clerk)

    order.refresh_from_db()
    assert order.status == "cancelled"
    assert f"Refund verified: Spectra refunded {order.amount_charged}." in _staff_messages(order)
    refunded = payments.payment_intent_refunded(payment_intent_id=order.payment_intent_id)
    assert refunded == order.amount_charged  # once, not twice


def test_cancel_refunds_when_spectra_did_not(
    live: Live, ready_attempt: MakeAttempt, clerk: object, thin_cancel: responses.RequestsMock
) -> None:
    order = _placed(live, ready_attempt)
    data = {**order.raw, "status": "cancelled", "payment_status": "captured"}
    thin_cancel.add(
        "PATCH",
        f"{live.sandbox.api_base}/orders/{order.spectra_id}/status",
        json={"success": True, "data": data},
    )

    staff.order_cancel(order=order, actor=clerk)

    order.refresh_from_db()
    assert order.status == "cancelled"
    refunded = payments.payment_intent_refunded(payment_intent_id=order.payment_intent_id)
    assert refunded == order.amount_charged
    assert f"Spectra did not refund; the app refunded {order.amount_charged}." in _staff_messages(
        order
    )
    # Cancelling again does not refund twice.
    staff._cancelled_payment_settle(order=order, actor=clerk)
    assert payments.payment_intent_refunded(payment_intent_id=order.payment_intent_id) == (
        order.amount_charged
    )


def test_cancel_releases_a_hold_nobody_captured(
    live: Live, ready_attempt: MakeAttempt, clerk: object, thin_cancel: responses.RequestsMock
) -> None:
    attempt = ready_attempt()
    orders.attempt_pay(attempt=attempt, payment_method_id=live.payment_method())
    attempt.refresh_from_db()
    body = {
        "id": 4242,
        "order_number": "ORD-20260101-4242",
        "status": "pending",
        "payment_status": "pending",
        "grand_total": float(attempt.amount_due),
        "is_test": True,
        "items": [],
    }
    thin_cancel.add(
        "POST", f"{live.sandbox.api_base}/orders", json={"success": True, "data": body}, status=201
    )
    # Stripe cannot be reached right after placement: the hold is still standing.
    thin_cancel.add(
        "GET",
        f"{live.localstripe.api_base}/v1/payment_intents/{attempt.payment_intent_id}",
        status=500,
        json={"error": {"message": "down"}},
    )
    orders.order_place(attempt=attempt)
    thin_cancel.remove(
        "GET", f"{live.localstripe.api_base}/v1/payment_intents/{attempt.payment_intent_id}"
    )
    order = Order.objects.get(spectra_id=4242)
    assert order.capture_state == Order.Capture.PENDING
    thin_cancel.add(
        "PATCH",
        f"{live.sandbox.api_base}/orders/4242/status",
        json={"success": True, "data": {**body, "status": "cancelled"}},
    )

    staff.order_cancel(order=order, actor=clerk)

    assert live.intent(attempt.payment_intent_id)["status"] == "canceled"
    assert "Card hold released: nothing had been captured." in _staff_messages(order)
    assert payments.payment_intent_refunded(payment_intent_id=attempt.payment_intent_id) == (
        Decimal("0.00")
    )


def test_ship_refuses_an_order_whose_payment_is_not_captured(
    live: Live, ready_attempt: MakeAttempt, clerk: object, thin_cancel: responses.RequestsMock
) -> None:
    attempt = ready_attempt()
    orders.attempt_pay(attempt=attempt, payment_method_id=live.payment_method())
    attempt.refresh_from_db()
    live.stripe.v1.payment_intents.cancel(attempt.payment_intent_id)  # the hold lapsed
    body = {
        "id": 4343,
        "order_number": "ORD-20260101-4343",
        "status": "pending",
        "payment_status": "captured",
        "grand_total": float(attempt.amount_due),
        "is_test": True,
        "items": [],
    }
    thin_cancel.add(
        "POST", f"{live.sandbox.api_base}/orders", json={"success": True, "data": body}, status=201
    )
    orders.order_place(attempt=attempt)
    order = Order.objects.get(spectra_id=4343)

    with pytest.raises(staff.StaffActionError, match="payment is not captured"):
        staff.order_ship(order=order, tracking_number="1Z999", carrier="UPS", actor=clerk)

    assert order.capture_state == Order.Capture.FAILED
