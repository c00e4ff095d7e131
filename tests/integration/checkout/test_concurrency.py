"""No double orders or charges: many simultaneous placements of one attempt, on PostgreSQL.

Each thread has its own database connection (Django opens one per thread), as separate
web processes would, so the only thing standing between 20 clicks and 20 orders is the
compare-and-set on the attempt row and the database constraints.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from django.db import connection

from checkout.models import CheckoutAttempt, Order, OrderEvent
from checkout.services import orders

from .support import Live

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CALLERS = 20
T = TypeVar("T")


def _race(attempt_pk: int, fn: Callable[[CheckoutAttempt], T]) -> list[T]:
    barrier = threading.Barrier(CALLERS)

    def call() -> T:
        try:
            attempt = CheckoutAttempt.objects.get(pk=attempt_pk)
            barrier.wait(timeout=30)
            return fn(attempt)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=CALLERS) as pool:
        futures = [pool.submit(call) for _ in range(CALLERS)]
        return [f.result(timeout=120) for f in futures]


def test_twenty_simultaneous_placements_make_one_order_and_one_capture(
    live: Live, ready_attempt: Callable[..., CheckoutAttempt]
) -> None:
    attempt = ready_attempt()
    outcome = orders.attempt_pay(attempt=attempt, payment_method_id=live.payment_method())
    assert outcome.status == "authorized"

    results = _race(attempt.pk, lambda a: orders.order_place(attempt=a))

    assert {r.status for r in results} == {"placed"}
    assert len({r.order.pk for r in results if r.order}) == 1
    state = live.state()
    assert state["orders"] == 1
    assert live.captures() == 1
    assert Order.objects.count() == 1
    assert live.intent(outcome.payment_intent_id)["status"] == "succeeded"
    assert [i["id"] for i in live.intents()] == [outcome.payment_intent_id]
    posts = OrderEvent.objects.filter(data__method="POST", data__path="/api/v1/orders")
    assert posts.count() == 1


def test_twenty_simultaneous_clicks_on_place_order_make_one_order(
    live: Live, ready_attempt: Callable[..., CheckoutAttempt]
) -> None:
    # What the place view does with the attempt it read: order_place claims it with a
    # compare-and-set; the callers that lost see ``submitting`` and share the outcome.
    attempt = ready_attempt()
    outcome = orders.attempt_pay(attempt=attempt, payment_method_id=live.payment_method())
    assert outcome.status == "authorized"

    def click(a: CheckoutAttempt) -> orders.PlacementResult:
        return orders.order_place(attempt=a, reload=False)

    results = _race(attempt.pk, click)

    assert {r.status for r in results} == {"placed"}
    assert len({r.order.pk for r in results if r.order}) == 1
    assert live.state()["orders"] == 1
    assert live.captures() == 1
    assert Order.objects.count() == 1
    posts = OrderEvent.objects.filter(data__method="POST", data__path="/api/v1/orders")
    assert posts.count() == 1


def test_simultaneous_pay_clicks_leave_one_live_authorization(
    live: Live, ready_attempt: Callable[..., CheckoutAttempt]
) -> None:
    attempt = ready_attempt()
    methods = [live.payment_method() for _ in range(CALLERS)]
    index = iter(range(CALLERS))
    lock = threading.Lock()

    def pay(a: CheckoutAttempt) -> orders.PaymentOutcome:
        with lock:
            method = methods[next(index)]
        return orders.attempt_pay(attempt=a, payment_method_id=method)

    outcomes = _race(attempt.pk, pay)

    attempt.refresh_from_db()
    assert attempt.state == CheckoutAttempt.State.PAYMENT_AUTHORIZED
    assert {o.payment_intent_id for o in outcomes} == {attempt.payment_intent_id}
    live_holds = [i for i in live.intents() if i["status"] == "requires_capture"]
    assert [i["id"] for i in live_holds] == [attempt.payment_intent_id]
    assert orders.order_place(attempt=attempt).status == "placed"
    assert live.captures() == 1
