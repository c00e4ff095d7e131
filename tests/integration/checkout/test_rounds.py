"""A step's independent API calls in one round, against the sandbox answering in 300 ms.

Made one after another, the calls of a step cost one latency each; in one round, one
latency in all. Each test times a step with the sandbox's ``--latency-ms`` set (over
its control API) and checks it took one round, not two or three, and that the answer
is the one the step gave before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from checkout.exceptions import InvalidPromoCode
from checkout.models import CheckoutAttempt
from checkout.services import orders
from checkout.services.quotes import cart_changed

from .support import Live

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LATENCY_MS = 600  # long enough that a busy machine's own overhead stays under the margin
# One round plus our own time and a loaded machine's slack, well under two rounds.
ONE_ROUND_S = 1.6 * LATENCY_MS / 1000


@pytest.fixture
def slow_api(live: Live) -> Iterator[Callable[[], None]]:
    """Call it once the test's set-up is done: from then on every answer takes 300 ms."""
    url = f"{live.sandbox.control_base}/latency"

    def slow() -> None:
        requests.post(url, json={"latency_ms": LATENCY_MS}, timeout=5).raise_for_status()

    try:
        yield slow
    finally:
        requests.post(url, json={"latency_ms": 0, "latency_jitter_ms": 0}, timeout=5)


def _timed(step: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = step()
    return result, time.perf_counter() - start


def test_a_first_visit_to_the_payment_step_quotes_in_one_round(
    live: Live, ready_attempt: Callable[..., CheckoutAttempt], slow_api: Callable[[], None]
) -> None:
    attempt = ready_attempt()
    orders.attempt_apply_promo(attempt=attempt, code="SAVE10")
    expected = orders.attempt_quote(attempt=CheckoutAttempt.objects.get(pk=attempt.pk))
    cart_changed(cart_id=attempt.cart_id)  # nothing cached: a first visit
    slow_api()
    snapshot, took = _timed(
        lambda: orders.checkout_snapshot(cart_id=attempt.cart_id, owner="s1", with_rates=False)
    )
    # Cart, rates, promo and tax: four calls, 1.2 s one after another.
    assert took < ONE_ROUND_S, took
    assert snapshot.quote == expected
    assert snapshot.quote.discount_total > Decimal("0")


def test_applying_a_promo_code_checks_it_and_quotes_in_one_round(
    live: Live, ready_attempt: Callable[..., CheckoutAttempt], slow_api: Callable[[], None]
) -> None:
    attempt = ready_attempt()
    slow_api()
    quote, took = _timed(lambda: orders.attempt_apply_promo(attempt=attempt, code=" save10 "))
    assert took < ONE_ROUND_S, took
    assert quote.promo_code == "SAVE10"
    assert quote.discount_total == (quote.subtotal * Decimal("0.10")).quantize(Decimal("0.01"))
    attempt.refresh_from_db()
    assert attempt.promo_code == "SAVE10"
    assert attempt.amount_due == quote.amount_due


def test_a_refused_promo_code_still_fails_beside_the_field(
    live: Live, ready_attempt: Callable[..., CheckoutAttempt], slow_api: Callable[[], None]
) -> None:
    attempt = ready_attempt()
    slow_api()
    with pytest.raises(InvalidPromoCode) as refused:
        orders.attempt_apply_promo(attempt=attempt, code="EXPIRED15")
    assert refused.value.field == "code"
    attempt.refresh_from_db()
    assert attempt.promo_code == ""


def test_applying_a_gift_card_checks_it_and_quotes_in_one_round(
    live: Live, ready_attempt: Callable[..., CheckoutAttempt], slow_api: Callable[[], None]
) -> None:
    attempt = ready_attempt()
    slow_api()
    quote, took = _timed(
        lambda: orders.attempt_apply_gift_card(attempt=attempt, code="card-25ba-lanc-eabc")
    )
    assert took < ONE_ROUND_S, took
    assert quote.gift_card_amount == Decimal("25.00")
    assert quote.amount_due == quote.grand_total - Decimal("25.00")


def test_choosing_shipping_prices_the_rate_from_the_rates_the_form_was_checked_against(
    live: Live, ready_attempt: Callable[..., CheckoutAttempt], slow_api: Callable[[], None]
) -> None:
    attempt = ready_attempt()
    rates = orders.attempt_shipping_rates(attempt=attempt)
    chosen = rates[-1]
    slow_api()
    attempt, took = _timed(
        lambda: orders.attempt_choose_shipping(
            attempt=attempt, service_code=chosen.service_code, rates=rates
        )
    )
    assert took < LATENCY_MS / 1000, took  # no second fetch of the rates
    assert attempt.shipping_rate["service_code"] == chosen.service_code
    assert Decimal(attempt.shipping_rate["price"]) == chosen.price


def test_the_payment_step_after_choosing_shipping_asks_the_api_nothing(
    live: Live, ready_attempt: Callable[..., CheckoutAttempt], slow_api: Callable[[], None]
) -> None:
    """The shipping page's quote, priced with the rate the shopper chose, is the payment
    page's: its first visit waits for no API call, and shows (and keeps on the attempt)
    what quoting afresh gives."""
    attempt = ready_attempt()
    orders.attempt_apply_promo(attempt=attempt, code="SAVE10")
    # The shipping page as the shopper saw it: its quote is cached for the attempt.
    page = orders.checkout_snapshot(cart_id=attempt.cart_id, owner="s1", with_rates=True)
    assert page.attempt is not None
    assert page.rates
    chosen = page.rates[-1]
    assert chosen.service_code != page.attempt.shipping_rate["service_code"]
    orders.attempt_choose_shipping(
        attempt=page.attempt, service_code=chosen.service_code, rates=list(page.rates)
    )
    slow_api()
    snapshot, took = _timed(
        lambda: orders.checkout_snapshot(cart_id=attempt.cart_id, owner="s1", with_rates=False)
    )
    assert took < LATENCY_MS / 1000, took
    assert snapshot.cached
    assert snapshot.quote is not None
    assert snapshot.quote.shipping_rate is not None
    assert snapshot.quote.shipping_rate["service_code"] == chosen.service_code
    saved = CheckoutAttempt.objects.get(pk=attempt.pk)
    assert (saved.amount_due, saved.shipping_total, saved.discount_total) == (
        snapshot.quote.amount_due,
        snapshot.quote.shipping_total,
        snapshot.quote.discount_total,
    )
    assert orders.attempt_quote(attempt=saved) == snapshot.quote


def test_choosing_shipping_on_a_changed_cart_leaves_the_payment_step_to_quote_afresh(
    live: Live, ready_attempt: Callable[..., CheckoutAttempt]
) -> None:
    attempt = ready_attempt()
    page = orders.checkout_snapshot(cart_id=attempt.cart_id, owner="s1", with_rates=True)
    assert page.attempt is not None
    assert page.rates
    cart_changed(cart_id=attempt.cart_id)  # a line changed in another tab
    orders.attempt_choose_shipping(
        attempt=page.attempt, service_code=page.rates[-1].service_code, rates=list(page.rates)
    )
    snapshot = orders.checkout_snapshot(cart_id=attempt.cart_id, owner="s1", with_rates=False)
    assert not snapshot.cached
    assert snapshot.quote == orders.attempt_quote(
        attempt=CheckoutAttempt.objects.get(pk=attempt.pk)
    )


def test_a_shipping_choice_is_checked_against_the_rates_its_page_showed(
    live: Live, ready_attempt: Callable[..., CheckoutAttempt], slow_api: Callable[[], None]
) -> None:
    attempt = ready_attempt()
    page = orders.checkout_snapshot(cart_id=attempt.cart_id, owner="s1", with_rates=True)
    shown = page.attempt
    assert shown is not None
    assert page.rates
    slow_api()
    rates, took = _timed(lambda: orders.attempt_rates_shown(attempt=shown))
    assert took < LATENCY_MS / 1000, took  # the page's rates, not the API's again
    assert rates == list(page.rates)
    # Once the cart changed, the page's rates are not the cart's: the API is asked.
    cart_changed(cart_id=attempt.cart_id)
    rates, took = _timed(lambda: orders.attempt_rates_shown(attempt=shown))
    assert took >= LATENCY_MS / 1000, took
    assert [r.service_code for r in rates] == [r.service_code for r in page.rates]
