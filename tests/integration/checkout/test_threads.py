"""Many shoppers at once in one process, as gunicorn's threads serve them: nothing leaks.

The production server runs 32 threads per worker (config/gunicorn.conf.py) over one
Spectra client (one ``requests`` session), one Stripe client, one cache, one rate limiter
and one quote cache, and each quote makes its API calls on a shared thread pool. Here
12 shoppers, each with a different cart, a different session and some with a promo
code, go through the payment step at the same moment, three times over, against the
sandbox answering with latency so that their calls overlap. Each must see only its own
cart, quote, rates, timeline and PaymentIntent, and the rate limit of one session must
not count another's hits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.contrib.sessions.backends.cache import SessionStore
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory

from checkout.models import CheckoutAttempt, OrderEvent
from checkout.ratelimit import rate_limit_hit
from checkout.services import orders
from checkout.services.quotes import cart_changed

from .support import Live

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SHOPPERS = 12
ROUNDS = 3


@pytest.fixture
def slow_api(live: Live) -> Iterator[None]:
    """The sandbox answers in 20-40 ms, so concurrent shoppers' calls overlap."""
    url = f"{live.sandbox.control_base}/latency"
    requests.post(url, json={"latency_ms": 20, "latency_jitter_ms": 20}, timeout=5)
    try:
        yield
    finally:
        requests.post(url, json={"latency_ms": 0, "latency_jitter_ms": 0}, timeout=5)


def _shopper_request(session_key: str, ip: str) -> Any:
    request = RequestFactory().post("/checkout/pay/", REMOTE_ADDR=ip)
    request.session = SessionStore(session_key=session_key)
    return request


def test_concurrent_shoppers_each_see_only_their_own_checkout(
    live: Live, ready_attempt: Any, slow_api: None, settings: Any
) -> None:
    settings.CHECKOUT_RATE_LIMITS = {"pay": ("2/10m session",)}
    variants = [v for p in live.spectra.iter_products() for v in p.variants]
    stocked = [v for v in variants if v.quantity_available >= 3 and v.price <= 400][:SHOPPERS]
    assert len(stocked) == SHOPPERS
    shoppers: list[dict[str, Any]] = []
    for n, variant in enumerate(stocked):
        cart_id = live.cart((variant, 1 + n % 3))
        attempt = ready_attempt(cart_id)
        if n % 2:
            orders.attempt_apply_promo(attempt=attempt, code="SAVE10")
        shoppers.append({"n": n, "cart_id": cart_id, "attempt_pk": attempt.pk})
    # What each shopper should see, computed one at a time before the rush.
    for shopper in shoppers:
        attempt = CheckoutAttempt.objects.get(pk=shopper["attempt_pk"])
        expected = orders.attempt_quote(attempt=attempt)
        shopper["subtotal"] = live.spectra.get_cart(shopper["cart_id"]).subtotal
        shopper["amount_due"] = expected.amount_due
        shopper["promo_code"] = attempt.promo_code
        shopper["session"] = SessionStore()
        shopper["session"].create()
    # The quote cache starts empty so every shopper's first snapshot quotes afresh.
    cache.clear()
    barrier = threading.Barrier(SHOPPERS)
    errors: list[str] = []

    def rush(shopper: dict[str, Any]) -> dict[str, Any]:
        seen: dict[str, Any] = {"subtotals": set(), "amounts": set(), "promos": set()}
        try:
            barrier.wait(timeout=30)
            for _ in range(ROUNDS):
                snapshot = orders.checkout_snapshot(
                    cart_id=shopper["cart_id"], owner="s1", with_rates=True
                )
                assert snapshot.attempt is not None
                assert snapshot.quote is not None
                if snapshot.attempt.pk != shopper["attempt_pk"]:
                    errors.append(f"shopper {shopper['n']} got attempt {snapshot.attempt.pk}")
                seen["subtotals"].add(snapshot.quote.subtotal)
                seen["amounts"].add(snapshot.quote.amount_due)
                seen["promos"].add(snapshot.quote.promo_code)
                assert snapshot.rates
            request = _shopper_request(shopper["session"].session_key, f"10.0.0.{shopper['n']}")
            seen["limits"] = [
                rate_limit_hit(request=request, scope="pay").allowed for _ in range(3)
            ]
            # Paying quotes afresh (the cart changed, as far as the quote cache knows), so
            # the quote's calls are made on the shared pool inside the attempt's recording.
            cart_changed(cart_id=shopper["cart_id"])
            attempt = CheckoutAttempt.objects.get(pk=shopper["attempt_pk"])
            outcome = orders.attempt_pay(attempt=attempt, payment_method_id=live.payment_method())
            seen["intent"] = outcome.payment_intent_id
        except Exception as err:  # reported with the shopper's number below
            errors.append(f"shopper {shopper['n']}: {err!r}")
        finally:
            connection.close()
        return seen

    with ThreadPoolExecutor(max_workers=SHOPPERS) as pool:
        results = list(pool.map(rush, shoppers))

    assert errors == []
    intents = {i["id"]: i for i in live.intents()}
    for shopper, seen in zip(shoppers, results, strict=True):
        assert seen["subtotals"] == {Decimal(shopper["subtotal"])}
        assert seen["amounts"] == {shopper["amount_due"]}
        assert seen["promos"] == {shopper["promo_code"]}
        # Each session's own two hits allowed, its third refused: no other session counted.
        assert seen["limits"] == [True, True, False]
        intent = intents[seen["intent"]]
        assert intent["metadata"]["checkout_attempt"] == str(
            CheckoutAttempt.objects.get(pk=shopper["attempt_pk"]).public_id
        )
        assert Decimal(intent["amount"]) / 100 == shopper["amount_due"]
        # The attempt's timeline holds its own API calls only (their paths name its cart).
        calls = OrderEvent.objects.filter(
            attempt_id=shopper["attempt_pk"], kind=OrderEvent.Kind.API_CALL
        )
        cart_paths = [e.data["path"] for e in calls if "/cart/" in e.data["path"]]
        assert cart_paths
        assert all(shopper["cart_id"] in path for path in cart_paths)
    assert len({seen["intent"] for seen in results}) == SHOPPERS
