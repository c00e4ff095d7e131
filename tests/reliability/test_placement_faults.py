"""Orders API faults during placement: 5xx, 429, timeouts, 'created then dropped'.

Each checkout is real: a Spectra cart, the three steps through the services, a
PaymentIntent authorized on localstripe, then ``order_place`` while the sandbox injects
a fault on ``POST /api/v1/orders``. Attempts the placement left pending are finished by
``attempt_recover`` (the periodic sweep), as if it ran a minute later. What must hold:
every checkout ends placed exactly once or failed with its card hold released; the
sandbox has exactly one order per placed checkout, one capture per order, and no
PaymentIntent is captured without an order.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from django.db import close_old_connections, connection
from django.utils import timezone

from checkout.models import CheckoutAttempt, Order
from checkout.services import orders
from checkout.services.spectra import Variant
from tests.integration.checkout.support import ADDRESS, Live

from .conftest import Figures

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

State = CheckoutAttempt.State
ORDER_TIMEOUT = 0.4
HANG = 0.9
ROUTE = "POST /api/v1/orders"

FAULTS: dict[str, dict[str, Any]] = {
    "503": {"action": "error", "status": 503},
    "500": {"action": "error", "status": 500},
    "429": {"action": "rate_limit", "retry_after": 1},
    "timeout": {"action": "hang", "seconds": HANG, "then": "close"},
    "timeout-then-created": {"action": "hang", "seconds": HANG, "then": "answer"},
    "created-then-dropped": {"action": "drop_after_process"},
}


@dataclass
class Run:
    """What a batch of checkouts came to."""

    attempts: list[int] = field(default_factory=list)
    intents: dict[int, str] = field(default_factory=dict)  # attempt pk -> PaymentIntent
    first: Counter[str] = field(default_factory=Counter)  # first placement result
    faults: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def fast_orders(settings: Any, live: Live) -> Live:
    settings.CHECKOUT_SPECTRA_ORDER_TIMEOUT = ORDER_TIMEOUT
    return live


def _checkout(
    live: Live, variant: Variant, *, quantity: int = 1, rate: int = 0
) -> tuple[CheckoutAttempt, str]:
    """A shopper at the payment step with the card authorized.

    ``rate``: which of the shipping rates with a price no other rate has (0: the cheapest).
    """
    client = live.spectra
    cart = client.create_cart()
    client.add_cart_item(cart.id, variant_id=variant.id, quantity=quantity)
    attempt = orders.attempt_for_cart(cart_id=cart.id, owner=uuid.uuid4().hex)
    assert attempt is not None
    attempt = orders.attempt_save_information(
        attempt=attempt, email="load@example.com", phone="555-0100", shipping_address=ADDRESS
    )
    rates = orders.attempt_shipping_rates(attempt=attempt)
    if rate:
        prices = Counter(r.price for r in rates)
        rates = [r for r in rates if prices[r.price] == 1]
    chosen = rates[rate % len(rates)]
    attempt = orders.attempt_choose_shipping(attempt=attempt, service_code=chosen.service_code)
    attempt = orders.attempt_set_billing(
        attempt=attempt, same_as_shipping=True, billing_address=None
    )
    outcome = orders.attempt_pay(attempt=attempt, payment_method_id=live.payment_method())
    assert outcome.status == "authorized", outcome
    return attempt, outcome.payment_intent_id


def _one(
    live: Live, variant: Variant, run: Run, fault: str | None, *, quantity: int = 1, rate: int = 0
) -> None:
    try:
        attempt, pi_id = _checkout(live, variant, quantity=quantity, rate=rate)
        if fault is not None:
            live.fault(route=ROUTE, count=1, **FAULTS[fault])
        result = orders.order_place(attempt=attempt)
        with run.lock:
            run.attempts.append(attempt.pk)
            run.intents[attempt.pk] = pi_id
            run.first[result.status] += 1
            run.faults[fault or "none"] += 1
    finally:
        connection.close()


def _recover(live: Live, run: Run, *, release_share: float, rng: random.Random) -> Counter[str]:
    """Run the sweep's recovery as if it came later; some attempts come far too late."""
    requests.delete(f"{live.sandbox.control_base}/faults", timeout=5).raise_for_status()
    time.sleep(HANG + 0.3)  # let every hung request on the sandbox finish first
    outcomes: Counter[str] = Counter()
    for _round in range(3):
        stuck = list(
            CheckoutAttempt.objects.filter(
                pk__in=run.attempts, state__in=(State.SUBMITTING, State.PAYMENT_AUTHORIZED)
            )
        )
        if not stuck:
            break
        for attempt in stuck:
            late = rng.random() < release_share
            # Past the in-flight window (and, for "late", past CHECKOUT_ATTEMPT_RELEASE_AFTER).
            ago = dt.timedelta(seconds=7200 if late else 90)
            CheckoutAttempt.objects.filter(pk=attempt.pk).update(
                submitted_at=timezone.now() - ago, updated_at=timezone.now() - ago
            )
            result = orders.attempt_recover(attempt=attempt)
            outcomes[result.status if result else "none"] += 1
    return outcomes


def _verify(live: Live, run: Run) -> dict[str, Any]:
    """Check the invariants; return the figures."""
    attempts = {a.pk: a for a in CheckoutAttempt.objects.filter(pk__in=run.attempts)}
    states = Counter(a.state for a in attempts.values())
    assert set(states) <= {State.PLACED, State.FAILED, State.COLLECTING}, states
    placed = [a for a in attempts.values() if a.state == State.PLACED]
    state = live.state()
    local_orders = Order.objects.filter(attempt__in=placed)
    # Exactly one order per placed checkout, here and in Spectra; one capture each.
    assert local_orders.count() == len(placed)
    assert Order.objects.count() == len(placed)
    assert state["orders"] == len(placed), state
    remote_ids = sorted(o.id for o in live.spectra.iter_orders())
    assert remote_ids == sorted(local_orders.values_list("spectra_id", flat=True))
    # Stripe's side: captured exactly for placed checkouts, released for all others. Who
    # captured does not matter: Spectra on the default contract, the app on the documented
    # one (where Spectra only records the gateway_id).
    by_intent = {o.payment_intent_id: o for o in local_orders}
    statuses: Counter[str] = Counter()
    for pk, pi_id in run.intents.items():
        status = live.intent(pi_id)["status"]
        statuses[status] += 1
        if attempts[pk].state == State.PLACED:
            assert status == "succeeded", (pk, status)
            assert by_intent[pi_id].attempt_id == pk
        else:
            assert status == "canceled", (pk, attempts[pk].state, status)
    captures = statuses["succeeded"]  # every checkout's PaymentIntent was read above
    assert captures == state["orders"], (captures, state)
    assert not local_orders.exclude(capture_state=Order.Capture.CAPTURED).exists()
    return {
        "checkouts": len(run.attempts),
        "placed": len(placed),
        "failed_released": len(run.attempts) - len(placed),
        "spectra_orders": state["orders"],
        "captures": captures,
        "captured_by_spectra": state["captures"],
        "intents": dict(statuses),
        "duplicate_orders": state["orders"] - len(placed),
    }


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_on_its_own(fast_orders: Live, figures: Figures, fault: str) -> None:
    live = fast_orders
    variant = live.variant(min_stock=50, max_price=50)
    run = Run()
    started = time.monotonic()
    # Six different orders (quantities 1-6), as six shoppers place: on the documented
    # contract the lookup tells orders apart only by their items and total.
    for i in range(6):
        _one(live, variant, run, fault, quantity=1 + i)
    first = dict(run.first)
    recovered = _recover(live, run, release_share=0.0, rng=random.Random(1))
    numbers = _verify(live, run)
    # One fault on the first post is always survivable: the lookup proves there is no
    # order (or finds it) and the order is placed, by the request or by recovery.
    assert numbers["placed"] == 6, (numbers, first, dict(recovered))
    figures.record(
        f"placement-{fault}",
        scenario=f"Orders API fault on POST /orders: {fault}",
        done=f"6 checkouts, each with one {fault} fault on its first POST /orders "
        f"(order timeout {ORDER_TIMEOUT}s, hang {HANG}s), then the recovery sweep",
        expected="every checkout placed exactly once; captures == orders",
        observed=f"{numbers['placed']} placed ({first.get('placed', 0)} in the request, "
        f"{sum(recovered.values())} by recovery), {numbers['spectra_orders']} Spectra orders, "
        f"{numbers['captures']} captures, 0 duplicates",
        seconds=time.monotonic() - started,
        first_result=first,
        recovered=dict(recovered),
        **numbers,
    )


def test_two_hundred_checkouts_with_mixed_faults(fast_orders: Live, figures: Figures) -> None:
    live = fast_orders
    seed = 20260518
    rng = random.Random(seed)
    # 200 different orders, as 200 shoppers place: 4 products x 10 quantities x 5 shipping
    # services. Without cart_id or gateway_id in the answers (the documented contract), the
    # lookup can tell orders apart only by their items and total; identical concurrent
    # orders go to staff instead (tests/integration/checkout/test_capture_and_unknown.py).
    variants = [
        v
        for p in live.spectra.iter_products()
        for v in p.variants
        if v.quantity_available >= 300 and v.price <= 50
    ][:4]
    assert len(variants) == 4, variants
    shapes = [(variants[i % 4], 1 + (i // 4) % 10, (i // 40) % 5) for i in range(200)]
    plan: list[str | None] = [
        rng.choice([*FAULTS, None]) if rng.random() < 0.75 else None for _ in range(200)
    ]
    run = Run()
    started = time.monotonic()
    close_old_connections()
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [
            pool.submit(_one, live, variant, run, fault, quantity=quantity, rate=rate)
            for fault, (variant, quantity, rate) in zip(plan, shapes, strict=True)
        ]
        for future in futures:
            future.result(timeout=240)
    placing = time.monotonic() - started
    first = dict(run.first)
    recovered = _recover(live, run, release_share=0.3, rng=rng)
    numbers = _verify(live, run)
    assert numbers["checkouts"] == 200
    assert numbers["duplicate_orders"] == 0
    figures.record(
        "placement-mixed-200",
        scenario="200 concurrent checkouts, Orders API faults mixed at random",
        done=f"200 different checkouts (4 products x 10 quantities x 5 shipping services) "
        f"on 6 threads; before each placement a random fault (or none, "
        f"~{sum(1 for p in plan if p is None) / 2:.0f}%) queued on POST /orders: "
        + ", ".join(f"{k} x{v}" for k, v in sorted(run.faults.items()))
        + "; then recovery, 30% of stuck attempts found past the release deadline",
        expected="each placed exactly once or failed with the hold released; no duplicate "
        "order, no capture without an order, no order without a capture",
        observed=f"{numbers['placed']} placed, {numbers['failed_released']} failed and "
        f"released; Spectra orders {numbers['spectra_orders']} = captures "
        f"{numbers['captures']}; intents {numbers['intents']}; first answers {first}; "
        f"placement {placing:.0f}s",
        seconds=time.monotonic() - started,
        seed=seed,
        first_result=first,
        recovered=dict(recovered),
        faults=dict(run.faults),
        **numbers,
    )
