"""Capture and unknown outcomes when the API gives only what its docs promise.

The cart, rates, tax and the card run for real (the sandbox and localstripe); the order
endpoints are answered with ``responses`` the way the documented contract allows: an order
carries only the fields of the docs' sample (no ``cart_id``, no email, no gateway id), the
list ignores the ``cart_id`` filter, and ``gateway_id`` is recorded, not captured. What a
merchant would notice is checked: the card captured exactly once after the order exists,
never a second ``POST /orders`` without proof, a hold kept while the outcome is unknown,
and staff told when nobody can decide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
import responses
from django.utils import timezone

from checkout.models import CheckoutAttempt, Order, OrderEvent
from checkout.money import to_minor_units
from checkout.services import orders, reconcile, spectra, sync

from .support import Live

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

State = CheckoutAttempt.State
MakeAttempt = Callable[..., CheckoutAttempt]


@pytest.fixture
def api(live: Live) -> Iterator[responses.RequestsMock]:
    """Answer the order endpoints ourselves; everything else goes to the real servers."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(live.sandbox.api_base.rsplit("/api/", 1)[0])
        mock.add_passthru(live.localstripe.api_base)
        yield mock


def _paid(live: Live, ready_attempt: MakeAttempt) -> CheckoutAttempt:
    attempt = ready_attempt()
    outcome = orders.attempt_pay(attempt=attempt, payment_method_id=live.payment_method())
    assert outcome.status == "authorized"
    attempt.refresh_from_db()
    return attempt


def _doc_order(live: Live, attempt: CheckoutAttempt, *, id: int, total: Any = None) -> dict:
    """An order as the docs' sample has it, for the attempt's cart."""
    cart = live.spectra.get_cart(attempt.cart_id)
    grand_total = attempt.subtotal + attempt.shipping_total + attempt.tax_estimate
    grand_total -= attempt.discount_total
    return {
        "id": id,
        "order_number": f"ORD-{timezone.now():%Y%m%d}-{id:04d}",
        "status": "pending",
        "payment_status": "captured",
        "grand_total": float(total if total is not None else grand_total),
        "is_test": True,
        "items": [{"sku": i.sku, "quantity": i.quantity, "name": i.name} for i in cart.items],
    }


def _envelope(data: Any, *, pages: int = 1) -> dict:
    if isinstance(data, list):
        return {
            "success": True,
            "data": data,
            "pagination": {"total": len(data), "page": 1, "per_page": 100, "total_pages": pages},
        }
    return {"success": True, "data": data}


def _posts(attempt: CheckoutAttempt) -> int:
    return OrderEvent.objects.filter(
        attempt=attempt, data__method="POST", data__path="/api/v1/orders"
    ).count()


def _orders_url(live: Live) -> str:
    return f"{live.sandbox.api_base}/orders"


# --- capture ---------------------------------------------------------------------------


def test_api_that_only_records_the_payment_is_captured_by_the_app(
    live: Live, ready_attempt: MakeAttempt, api: responses.RequestsMock
) -> None:
    attempt = _paid(live, ready_attempt)
    api.add(
        "POST", _orders_url(live), json=_envelope(_doc_order(live, attempt, id=501)), status=201
    )

    result = orders.order_place(attempt=attempt)

    assert result.status == "placed", result
    intent = live.intent(attempt.payment_intent_id)
    assert intent["status"] == "succeeded"
    order = Order.objects.get(spectra_id=501)
    assert order.capture_state == Order.Capture.CAPTURED
    assert order.captured_amount == attempt.amount_due
    messages = list(order.events.order_by("created_at", "pk").values_list("message", flat=True))
    # The note and the capture's entry are written together, in the order they happened.
    note = messages.index("Spectra did not capture the payment; the app captures it now.")
    assert messages[note + 1].startswith("Payment captured")


def test_a_failed_capture_still_says_why_the_app_captures_and_waits(
    live: Live, ready_attempt: MakeAttempt, api: responses.RequestsMock
) -> None:
    attempt = _paid(live, ready_attempt)
    api.add(
        "POST", _orders_url(live), json=_envelope(_doc_order(live, attempt, id=505)), status=201
    )
    capture_url = (
        f"{live.localstripe.api_base}/v1/payment_intents/{attempt.payment_intent_id}/capture"
    )
    api.add("POST", capture_url, body=requests.ConnectionError("stripe down"))

    assert orders.order_place(attempt=attempt).status == "placed"

    order = Order.objects.get(spectra_id=505)
    assert order.capture_state == Order.Capture.PENDING  # reconciliation tries again
    assert live.intent(attempt.payment_intent_id)["status"] == "requires_capture"
    messages = list(order.events.values_list("message", flat=True))
    assert "Spectra did not capture the payment; the app captures it now." in messages
    assert not any(m.startswith("Payment captured") for m in messages)


def test_capture_by_app_captures_amount_charged_after_the_order_exists(
    live: Live, ready_attempt: MakeAttempt, api: responses.RequestsMock, settings: Any
) -> None:
    settings.CHECKOUT_CAPTURE_BY = "app"
    attempt = _paid(live, ready_attempt)
    body = _doc_order(live, attempt, id=502)
    # The API charged less than authorized (say a promotion it applied): capture that.
    body["amount_charged"] = float(attempt.amount_due - Decimal("1.00"))
    api.add("POST", _orders_url(live), json=_envelope(body), status=201)

    assert orders.order_place(attempt=attempt).status == "placed"

    intent = live.intent(attempt.payment_intent_id)
    assert intent["status"] == "succeeded"
    order = Order.objects.get(spectra_id=502)
    assert order.captured_amount == attempt.amount_due - Decimal("1.00")
    assert not order.events.filter(message__startswith="Spectra did not capture").exists()


@pytest.mark.default_contract("the sandbox captures the PaymentIntent itself")
def test_default_sandbox_capture_is_verified_not_repeated(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    attempt = _paid(live, ready_attempt)

    result = orders.order_place(attempt=attempt)

    assert result.order is not None
    order = Order.objects.get(pk=result.order.pk)
    assert order.capture_state == Order.Capture.CAPTURED
    assert live.state()["captures"] == 1
    assert int(live.intent(attempt.payment_intent_id)["amount"]) == to_minor_units(
        attempt.amount_due, currency="USD"
    )
    assert order.events.filter(message__startswith="Payment verified: Spectra captured").exists()


def test_hold_gone_after_placement_is_flagged_for_staff(
    live: Live, ready_attempt: MakeAttempt, api: responses.RequestsMock
) -> None:
    attempt = _paid(live, ready_attempt)
    live.stripe.v1.payment_intents.cancel(attempt.payment_intent_id)
    api.add(
        "POST", _orders_url(live), json=_envelope(_doc_order(live, attempt, id=503)), status=201
    )

    orders.order_place(attempt=attempt)

    order = Order.objects.get(spectra_id=503)
    assert order.capture_state == Order.Capture.FAILED
    assert order.events.filter(message__contains="the order is not paid").exists()


def test_reconciliation_captures_what_placement_could_not(
    live: Live, ready_attempt: MakeAttempt, api: responses.RequestsMock, settings: Any
) -> None:
    attempt = _paid(live, ready_attempt)
    body = _doc_order(live, attempt, id=504)
    api.add("POST", _orders_url(live), json=_envelope(body), status=201)
    # Stripe is unreachable right after placement.
    api.add(
        "GET",
        f"{live.localstripe.api_base}/v1/payment_intents/{attempt.payment_intent_id}",
        body=requests.ConnectionError("stripe down"),
    )
    assert orders.order_place(attempt=attempt).status == "placed"
    order = Order.objects.get(spectra_id=504)
    assert order.capture_state == Order.Capture.PENDING

    api.remove("GET", f"{live.localstripe.api_base}/v1/payment_intents/{attempt.payment_intent_id}")
    assert live.intent(attempt.payment_intent_id)["status"] == "requires_capture"
    api.add("GET", f"{_orders_url(live)}/504", json=_envelope(body))
    result = reconcile.orders_reconcile()

    order.refresh_from_db()
    assert order.capture_state == Order.Capture.CAPTURED
    assert live.intent(attempt.payment_intent_id)["status"] == "succeeded"
    assert result.payments_captured == 1


# --- unknown outcome -------------------------------------------------------------------


def test_dropped_answer_is_resolved_from_the_list_without_cart_id(
    live: Live, ready_attempt: MakeAttempt, api: responses.RequestsMock
) -> None:
    attempt = _paid(live, ready_attempt)
    ours = _doc_order(live, attempt, id=611)
    other = {**_doc_order(live, attempt, id=610, total="12.34")}
    api.add("POST", _orders_url(live), body=requests.ConnectionError("connection reset"))
    # The filter is ignored: the whole list, newest first.
    api.add("GET", _orders_url(live), json=_envelope([ours, other]))

    result = orders.order_place(attempt=attempt)

    assert result.status == "placed", result
    assert result.order is not None
    assert result.order.spectra_id == 611
    assert _posts(attempt) == 1
    assert live.intent(attempt.payment_intent_id)["status"] == "succeeded"


def test_undecidable_outcome_waits_keeps_the_hold_then_goes_to_staff(
    live: Live, ready_attempt: MakeAttempt, api: responses.RequestsMock
) -> None:
    attempt = _paid(live, ready_attempt)
    api.add("POST", _orders_url(live), body=requests.ConnectionError("connection reset"))
    # Two look-alikes (same total and items): either could be ours.
    twins = [_doc_order(live, attempt, id=621), _doc_order(live, attempt, id=620)]
    api.add("GET", _orders_url(live), json=_envelope(twins))

    result = orders.order_place(attempt=attempt)

    assert result.status == "pending"
    assert "confirming" in result.message
    attempt.refresh_from_db()
    assert attempt.state == State.SUBMITTING
    assert live.intent(attempt.payment_intent_id)["status"] == "requires_capture"
    # The sweep after the in-flight window: still undecided, still waiting, no new post.
    _age(attempt, minutes=5)
    assert orders.attempt_recover(attempt=attempt).status == "pending"  # type: ignore[union-attr]
    attempt.refresh_from_db()
    assert attempt.state == State.SUBMITTING
    # Past the window: handed to staff with the evidence, the hold still kept.
    _age(attempt, minutes=45)
    orders.attempt_recover(attempt=attempt)
    attempt.refresh_from_db()
    assert attempt.state == State.NEEDS_REVIEW
    assert attempt.failure_code == "outcome_unknown"
    review = attempt.events.get(message__startswith="Needs review: Spectra's answer")
    assert [c["id"] for c in review.data["candidates"]] == [621, 620]
    assert _posts(attempt) == 1
    assert live.intent(attempt.payment_intent_id)["status"] == "requires_capture"
    assert not Order.objects.exists()


def test_unanswered_post_is_not_reposted_until_the_window_proves_no_order(
    live: Live, ready_attempt: MakeAttempt, api: responses.RequestsMock
) -> None:
    attempt = _paid(live, ready_attempt)
    api.add("POST", _orders_url(live), body=requests.ConnectionError("connection reset"))
    api.add("GET", _orders_url(live), json=_envelope([]))

    # Nothing listed yet, but the API may still be working on the post: wait.
    assert orders.order_place(attempt=attempt).status == "pending"
    assert _posts(attempt) == 1
    # Later the list still proves none: recovery posts once more, and it is placed.
    api.remove("POST", _orders_url(live))
    api.add(
        "POST", _orders_url(live), json=_envelope(_doc_order(live, attempt, id=631)), status=201
    )
    _age(attempt, minutes=5)
    recovered = orders.attempt_recover(attempt=attempt)
    assert recovered is not None
    assert recovered.status == "placed"
    assert _posts(attempt) == 2


def test_unknown_refusal_code_keeps_the_hold_and_the_webhook_adopts_the_order(
    live: Live, ready_attempt: MakeAttempt, api: responses.RequestsMock
) -> None:
    attempt = _paid(live, ready_attempt)
    refusal = {"success": False, "error": {"code": "order_on_hold", "message": "Held."}}
    api.add("POST", _orders_url(live), json=refusal, status=422)
    # Other shops' orders only: nothing proves ours exists or not (the list is longer).
    other = _doc_order(live, attempt, id=700, total="99.99")
    api.add("GET", _orders_url(live), json=_envelope([other], pages=5))
    api.add("GET", f"{_orders_url(live)}?page=2", json=_envelope([other], pages=5))

    result = orders.order_place(attempt=attempt)

    assert result.status == "pending"
    attempt.refresh_from_db()
    assert attempt.state == State.SUBMITTING
    assert live.intent(attempt.payment_intent_id)["status"] == "requires_capture"
    assert attempt.events.filter(message__contains="code we do not know").exists()

    # Spectra's order.created arrives after our request gave up.
    _age(attempt, minutes=5)
    remote = spectra.Order.from_api(_doc_order(live, attempt, id=701))
    sync.order_apply_remote(remote=remote, source="webhook")

    attempt.refresh_from_db()
    assert attempt.state == State.PLACED
    order = Order.objects.get(spectra_id=701)
    assert order.attempt_id == attempt.pk
    assert order.capture_state == Order.Capture.CAPTURED
    assert _posts(attempt) == 1


def test_proven_absence_after_a_5xx_posts_again_once(
    live: Live, ready_attempt: MakeAttempt, api: responses.RequestsMock
) -> None:
    attempt = _paid(live, ready_attempt)
    # An older order placed here, and one from before the submission: nothing is ours.
    mine = _doc_order(live, attempt, id=800)
    old = {**_doc_order(live, attempt, id=790), "created_at": "2020-01-01T00:00:00+00:00"}
    ready_attempt_order = spectra.Order.from_api(mine)
    orders.order_record(remote=ready_attempt_order, attempt=None)
    api.add("POST", _orders_url(live), json={"success": False}, status=503)
    api.add(
        "POST", _orders_url(live), json=_envelope(_doc_order(live, attempt, id=801)), status=201
    )
    api.add("GET", _orders_url(live), json=_envelope([mine, old], pages=3))

    result = orders.order_place(attempt=attempt)

    assert result.status == "placed", result
    assert result.order is not None
    assert result.order.spectra_id == 801
    assert _posts(attempt) == 2


def _age(attempt: CheckoutAttempt, *, minutes: int) -> None:
    attempt.refresh_from_db()
    past = timezone.now() - dt.timedelta(minutes=minutes)
    CheckoutAttempt.objects.filter(pk=attempt.pk).update(
        submitted_at=past, authorized_at=past, updated_at=past
    )
