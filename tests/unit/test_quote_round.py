"""A quote's API calls in one round: they overlap, and a failure fails as it did in turn.

Every answer here is delayed by ``DELAY`` seconds (``responses`` callbacks that sleep),
so one round of calls takes about ``DELAY`` and calls made one after another take a
multiple of it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import responses
from django.test import override_settings

from checkout.exceptions import SpectraTransientError, SpectraValidationError
from checkout.models import CheckoutAttempt
from checkout.services import quotes
from checkout.services.spectra import CallRecord, clear_spectra_clients, get_spectra_client
from tests.unit.spectra_data import API, CART, CART_ID, COMMERCE, KEY, error, ok

DELAY = 0.3

ADDRESS = {
    "name": "Alice Buyer",
    "address1": "123 Main St",
    "address2": "",
    "city": "Brooklyn",
    "state": "NY",
    "zip": "11201",
    "country": "US",
}
RATE = {
    "carrier": "UPS",
    "service": "UPS Ground",
    "service_code": "ups_ground",
    "method": "ground",
    "price": 8.99,
}


@pytest.fixture(autouse=True)
def shared_client() -> Iterator[None]:
    """The shared client (the one the services use) pointed at ``responses``."""
    with override_settings(
        CHECKOUT_SPECTRA_API_BASE=API,
        CHECKOUT_SPECTRA_COMMERCE_BASE=COMMERCE,
        CHECKOUT_SPECTRA_API_KEY=KEY,
        CHECKOUT_SPECTRA_MAX_RETRIES=2,
        CHECKOUT_SPECTRA_BACKOFF_BASE=0.01,
        CHECKOUT_SPECTRA_BACKOFF_MAX=0.01,
    ):
        clear_spectra_clients()
        yield
        clear_spectra_clients()


def _attempt(**overrides: Any) -> CheckoutAttempt:
    # Authorized: a quote then writes nothing back, so no database is needed.
    fields: dict[str, Any] = {
        "cart_id": CART_ID,
        "email": "alice@example.com",
        "shipping_address": ADDRESS,
        "shipping_rate": {**RATE, "price": "8.99"},
        "promo_code": "SAVE10",
        "gift_card_code": "GIFT1234",
        "state": CheckoutAttempt.State.PAYMENT_AUTHORIZED,
    }
    fields.update(overrides)
    return CheckoutAttempt(**fields)


def _slow(status: int, body: Any) -> Callable[[Any], tuple[int, dict[str, str], str]]:
    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(DELAY)
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    return answer


def _answers(mock: responses.RequestsMock, **overrides: tuple[int, Any]) -> None:
    """Register the five answers of a quote, each delayed; ``overrides`` replace some."""
    answers: dict[str, tuple[str, str, tuple[int, Any]]] = {
        "cart": ("GET", f"{COMMERCE}/cart/{CART_ID}", (200, ok(CART))),
        "rates": ("POST", f"{COMMERCE}/checkout/shipping-rates", (200, ok({"rates": [RATE]}))),
        "promo": (
            "POST",
            f"{COMMERCE}/checkout/validate-promo",
            (200, ok({"valid": True, "code": "SAVE10", "discount_amount": 100})),
        ),
        "tax": (
            "POST",
            f"{COMMERCE}/checkout/calculate-tax",
            (200, ok({"tax_amount": 88.75, "tax_rate": 0.08})),
        ),
        "gift": (
            "POST",
            f"{COMMERCE}/checkout/validate-gift-card",
            (200, ok({"valid": True, "balance": 50, "status": "active"})),
        ),
    }
    for name, (method, url, (status, body)) in answers.items():
        status, body = overrides.get(name, (status, body))
        mock.add_callback(method, url, callback=_slow(status, body))


def test_the_five_calls_of_a_quote_overlap_and_are_all_recorded() -> None:
    records: list[CallRecord] = []
    threads: set[str] = set()

    def record(call: CallRecord) -> None:
        records.append(call)
        threads.add(threading.current_thread().name)

    with responses.RequestsMock() as mock:
        _answers(mock)
        start = time.perf_counter()
        with get_spectra_client().observe(record):
            quote = quotes.attempt_quote(attempt=_attempt())
        elapsed = time.perf_counter() - start

    # In turn these would take 5 x DELAY; in one round, about one.
    assert elapsed < 2 * DELAY
    assert quote.subtotal == Decimal("999.98")
    assert quote.discount_total == Decimal("100.00")
    assert quote.shipping_total == Decimal("8.99")
    assert quote.tax_estimate == Decimal("72.00")  # the API's rate on 999.98 - 100
    assert quote.gift_card_amount == Decimal("50.00")
    # The observer (the attempt's timeline) saw every call, made on other threads too.
    assert sorted(r.path.rsplit("/", 1)[-1] for r in records) == sorted(
        [CART_ID, "shipping-rates", "validate-promo", "calculate-tax", "validate-gift-card"]
    )
    assert len(threads) > 1


def test_a_failing_call_fails_the_quote_with_its_own_error_after_its_retries() -> None:
    with responses.RequestsMock() as mock:
        _answers(mock, tax=(503, error("unavailable", "Try later")))
        # The retry policy still holds inside the round: two more tries of the tax call.
        mock.add_callback(
            "POST",
            f"{COMMERCE}/checkout/calculate-tax",
            callback=_slow(503, error("unavailable", "Try later")),
        )
        mock.add_callback(
            "POST",
            f"{COMMERCE}/checkout/calculate-tax",
            callback=_slow(503, error("unavailable", "Try later")),
        )
        with pytest.raises(SpectraTransientError):
            quotes.attempt_quote(attempt=_attempt())
        tax_calls = [c for c in mock.calls if str(c.request.url).endswith("calculate-tax")]
    assert len(tax_calls) == 3


def test_a_retried_call_that_recovers_leaves_the_quote_whole() -> None:
    with responses.RequestsMock() as mock:
        _answers(mock, tax=(503, error("unavailable", "Try later")))
        mock.add_callback(
            "POST",
            f"{COMMERCE}/checkout/calculate-tax",
            callback=_slow(200, ok({"tax_amount": 88.75, "tax_rate": 0.08})),
        )
        quote = quotes.attempt_quote(attempt=_attempt())
    assert quote.tax_estimate == Decimal("72.00")


def test_when_two_calls_fail_the_one_made_first_in_turn_is_the_error() -> None:
    with responses.RequestsMock() as mock:
        _answers(
            mock,
            cart=(500, error("server_error", "Boom")),
            promo=(422, error("validation_error", "Bad promo request")),
        )
        for _ in range(2):  # the cart's retries
            mock.add_callback(
                "GET", f"{COMMERCE}/cart/{CART_ID}", callback=_slow(500, error("x", "Boom"))
            )
        with pytest.raises(SpectraTransientError):
            quotes.attempt_quote(attempt=_attempt())


def test_a_call_only_made_for_a_cart_with_items_cannot_fail_an_empty_cart() -> None:
    empty = {**CART, "items": [], "subtotal": 0, "item_count": 0}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        _answers(
            mock,
            cart=(200, ok(empty)),
            rates=(422, error("validation_error", "Cart is empty")),
            promo=(422, error("validation_error", "Cart is empty")),
            tax=(422, error("validation_error", "Cart is empty")),
        )
        quote = quotes.attempt_quote(attempt=_attempt(gift_card_code=""))
    assert quote.grand_total == Decimal("0.00")
    assert quote.items == ()


def test_a_rejection_stays_a_rejection() -> None:
    with responses.RequestsMock() as mock:
        _answers(mock, promo=(422, error("validation_error", "Bad promo request")))
        with pytest.raises(SpectraValidationError):
            quotes.attempt_quote(attempt=_attempt())
