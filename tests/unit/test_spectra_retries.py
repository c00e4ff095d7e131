"""When the Spectra client repeats a request, how long it waits, and when it must not."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses
import urllib3.exceptions

from checkout.exceptions import (
    SpectraError,
    SpectraRateLimited,
    SpectraTransientError,
    SpectraUnknownOutcome,
    SpectraValidationError,
)
from checkout.services.spectra import MAX_RETRY_AFTER, SpectraClient, parse_retry_after
from tests.unit.spectra_data import (
    API,
    CART,
    CART_ID,
    COMMERCE,
    KEY,
    ORDER,
    ORDER_PAYLOAD,
    error,
    ok,
)

Mock = responses.RequestsMock
ORDERS = f"{API}/orders"


def down() -> dict[str, Any]:
    return {"status": 503, "json": error("unavailable", "Try later")}


def connect_refused() -> requests.exceptions.ConnectionError:
    """Return what requests raises when nothing listens on the port."""
    reason = urllib3.exceptions.NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/", reason)  # type: ignore[arg-type]
    )


class Ceiling(random.Random):
    """A 'random' source whose jitter always picks the upper bound."""

    def uniform(self, a: float, b: float) -> float:
        return b


# --- Idempotent calls -----------------------------------------------------------------


def test_get_retries_5xx_with_jittered_exponential_backoff(
    spectra: SpectraClient, spectra_http: Mock, spectra_sleeps: list[float]
) -> None:
    spectra_http.get(f"{ORDERS}/1", **down())
    spectra_http.get(f"{ORDERS}/1", status=500, json=error("boom", "Boom"))
    spectra_http.get(f"{ORDERS}/1", status=504, body="gateway timeout")
    spectra_http.get(f"{ORDERS}/1", json=ok({**ORDER, "id": 1}))

    assert spectra.get_order(1).id == 1

    assert len(spectra_http.calls) == 4
    jitter = random.Random(1234)  # the fixture's seed
    assert spectra_sleeps == [
        jitter.uniform(0, 0.5),
        jitter.uniform(0, 1.0),
        jitter.uniform(0, 2.0),
    ]
    for slept, ceiling in zip(spectra_sleeps, (0.5, 1.0, 2.0), strict=True):
        assert 0 <= slept <= ceiling


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ConnectionError("Connection reset by peer"),
        requests.exceptions.ChunkedEncodingError("broken"),
    ],
    ids=["read-timeout", "connect-timeout", "reset", "chunked"],
)
def test_get_retries_transport_failures(
    spectra: SpectraClient, spectra_http: Mock, spectra_sleeps: list[float], failure: Exception
) -> None:
    spectra_http.get(f"{COMMERCE}/cart/{CART_ID}", body=failure)
    spectra_http.get(f"{COMMERCE}/cart/{CART_ID}", json=ok(CART))

    assert spectra.get_cart(CART_ID).id == CART_ID
    assert len(spectra_sleeps) == 1


def test_retries_stop_at_the_cap(
    spectra: SpectraClient, spectra_http: Mock, spectra_sleeps: list[float]
) -> None:
    spectra_http.get(f"{ORDERS}/1", **down())

    with pytest.raises(SpectraTransientError) as info:
        spectra.get_order(1)

    assert info.value.status == 503
    assert len(spectra_http.calls) == 4  # the first try and max_retries=3 repeats
    assert len(spectra_sleeps) == 3


def test_zero_retries_means_one_try(spectra_http: Mock, spectra_sleeps: list[float]) -> None:
    client = SpectraClient(api_base=API, api_key=KEY, max_retries=0, sleep=spectra_sleeps.append)
    spectra_http.get(f"{ORDERS}/1", **down())

    with pytest.raises(SpectraTransientError):
        client.get_order(1)

    assert (len(spectra_http.calls), spectra_sleeps) == (1, [])


def test_backoff_is_capped(spectra_http: Mock, spectra_sleeps: list[float]) -> None:
    client = SpectraClient(
        api_base=API,
        api_key=KEY,
        max_retries=6,
        backoff_base=0.5,
        backoff_max=2.0,
        sleep=spectra_sleeps.append,
        rng=Ceiling(),
    )
    spectra_http.get(f"{ORDERS}/1", **down())

    with pytest.raises(SpectraTransientError):
        client.get_order(1)

    assert spectra_sleeps == [0.5, 1.0, 2.0, 2.0, 2.0, 2.0]


def test_429_waits_for_retry_after(
    spectra: SpectraClient, spectra_http: Mock, spectra_sleeps: list[float]
) -> None:
    spectra_http.get(
        f"{API}/products/7",
        status=429,
        headers={"Retry-After": "5"},
        json=error("rate_limited", "Slow down"),
    )
    spectra_http.get(f"{API}/products/7", json=ok({"id": 7, "name": "P", "variants": []}))

    assert spectra.get_product(7).id == 7
    assert spectra_sleeps == [5.0]


def test_429_waits_at_least_the_backoff(spectra_http: Mock, spectra_sleeps: list[float]) -> None:
    client = SpectraClient(
        api_base=API,
        api_key=KEY,
        backoff_base=3.0,
        backoff_max=10.0,
        sleep=spectra_sleeps.append,
        rng=Ceiling(),
    )
    spectra_http.get(f"{ORDERS}/1", status=429, headers={"Retry-After": "1"})
    spectra_http.get(f"{ORDERS}/1", status=429)
    spectra_http.get(f"{ORDERS}/1", json=ok(ORDER))

    client.get_order(1)

    assert spectra_sleeps == [3.0, 6.0]


def test_429_with_an_http_date_retry_after(
    spectra: SpectraClient, spectra_http: Mock, spectra_sleeps: list[float]
) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    spectra_http.get(
        f"{ORDERS}/1",
        status=429,
        headers={"Retry-After": when.strftime("%a, %d %b %Y %H:%M:%S GMT")},
    )
    spectra_http.get(f"{ORDERS}/1", json=ok(ORDER))

    spectra.get_order(1)

    [slept] = spectra_sleeps
    assert 25 < slept <= 30


def test_429_asking_for_too_long_is_raised_at_once(
    spectra: SpectraClient, spectra_http: Mock, spectra_sleeps: list[float]
) -> None:
    spectra_http.get(
        f"{ORDERS}/1",
        status=429,
        headers={"Retry-After": str(int(MAX_RETRY_AFTER) + 1)},
        json=error("rate_limited", "Hourly limit reached"),
    )

    with pytest.raises(SpectraRateLimited) as info:
        spectra.get_order(1)

    assert info.value.retry_after == MAX_RETRY_AFTER + 1
    assert len(spectra_http.calls) == 1
    assert spectra_sleeps == []


def test_rate_limit_gives_up_after_the_cap(
    spectra: SpectraClient, spectra_http: Mock, spectra_sleeps: list[float]
) -> None:
    spectra_http.get(f"{ORDERS}/1", status=429, headers={"Retry-After": "2"})

    with pytest.raises(SpectraRateLimited):
        spectra.get_order(1)

    assert spectra_sleeps == [2.0, 2.0, 2.0]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_shipping_rates(CART_ID, address={"state": "NY"}),
        lambda c: c.calculate_tax(CART_ID, shipping_state="NY"),
        lambda c: c.validate_promo(CART_ID, code="X", email="a@example.com"),
        lambda c: c.validate_gift_card("ABCDEFGH23456789"),
    ],
    ids=["shipping-rates", "calculate-tax", "validate-promo", "validate-gift-card"],
)
def test_read_like_checkout_posts_are_retried(
    spectra: SpectraClient,
    spectra_http: Mock,
    spectra_sleeps: list[float],
    call: Callable[[SpectraClient], Any],
) -> None:
    spectra_http.add(responses.POST, re.compile(f"{COMMERCE}/checkout/.*"), **down())

    with pytest.raises(SpectraTransientError):
        call(spectra)

    assert len(spectra_http.calls) == 4
    assert {c.request.method for c in spectra_http.calls} == {"POST"}


def test_rejections_are_not_retried(
    spectra: SpectraClient, spectra_http: Mock, spectra_sleeps: list[float]
) -> None:
    spectra_http.get(f"{ORDERS}/1", status=404, json=error("not_found", "No such order"))

    with pytest.raises(SpectraError):
        spectra.get_order(1)

    assert (len(spectra_http.calls), spectra_sleeps) == (1, [])


# --- Writes: only when nothing was sent ---------------------------------------------


WRITES: list[tuple[str, str, Callable[[SpectraClient], Any]]] = [
    ("POST", f"{COMMERCE}/cart", lambda c: c.create_cart()),
    (
        "POST",
        f"{COMMERCE}/cart/{CART_ID}/items",
        lambda c: c.add_cart_item(CART_ID, variant_id=1, quantity=1),
    ),
    (
        "PATCH",
        f"{COMMERCE}/cart/{CART_ID}/items/11",
        lambda c: c.update_cart_item(CART_ID, 11, quantity=2),
    ),
    ("DELETE", f"{COMMERCE}/cart/{CART_ID}/items/11", lambda c: c.remove_cart_item(CART_ID, 11)),
    ("PATCH", f"{ORDERS}/1/status", lambda c: c.set_order_status(1, "shipped")),
    (
        "POST",
        f"{ORDERS}/1/tracking",
        lambda c: c.set_tracking(1, tracking_number="1Z", carrier="UPS"),
    ),
    ("POST", f"{API}/webhooks", lambda c: c.register_webhook(url="https://x.test/hook")),
    ("DELETE", f"{API}/webhooks/5", lambda c: c.delete_webhook(5)),
]
WRITE_IDS = [f"{m} {u.split('/v1')[1]}" for m, u, _ in WRITES]


@pytest.mark.parametrize(("method", "url", "call"), WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503, "json": error("unavailable", "Try later")},
        {"status": 429, "headers": {"Retry-After": "1"}},
        {"body": requests.exceptions.ReadTimeout("read timed out")},
        {"body": requests.exceptions.ConnectionError("Connection reset by peer")},
    ],
    ids=["503", "429", "read-timeout", "reset"],
)
def test_writes_are_not_retried_once_the_request_may_have_arrived(
    spectra: SpectraClient,
    spectra_http: Mock,
    spectra_sleeps: list[float],
    method: str,
    url: str,
    call: Callable[[SpectraClient], Any],
    failure: dict[str, Any],
) -> None:
    spectra_http.add(method, url, **failure)

    with pytest.raises(SpectraTransientError) as info:
        call(spectra)

    assert not isinstance(info.value, SpectraUnknownOutcome)
    assert (len(spectra_http.calls), spectra_sleeps) == (1, [])


@pytest.mark.parametrize(("method", "url", "call"), WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize(
    "failure",
    [requests.exceptions.ConnectTimeout("connect timed out"), connect_refused()],
    ids=["connect-timeout", "refused"],
)
def test_writes_are_retried_when_the_connection_never_opened(
    spectra: SpectraClient,
    spectra_http: Mock,
    spectra_sleeps: list[float],
    method: str,
    url: str,
    call: Callable[[SpectraClient], Any],
    failure: Exception,
) -> None:
    spectra_http.add(method, url, body=failure)

    with pytest.raises(SpectraTransientError) as info:
        call(spectra)

    assert info.value.code in {"connect_timeout", "connect_error"}
    assert len(spectra_http.calls) == 4
    assert len(spectra_sleeps) == 3


# --- POST /orders: never repeated -----------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ({"body": requests.exceptions.ReadTimeout("read timed out")}, "timeout"),
        (
            {"body": requests.exceptions.ConnectionError("Connection reset by peer")},
            "connection_error",
        ),
        ({"body": requests.exceptions.ChunkedEncodingError("cut off")}, "connection_error"),
        ({"status": 500, "json": error("internal", "Oops")}, "internal"),
        ({"status": 503, "body": "<html>down</html>"}, "http_503"),
        ({"status": 201, "body": "<html>proxy</html>"}, "invalid_response"),
        ({"status": 201, "json": ok({"status": "pending"})}, "invalid_response"),
    ],
    ids=["read-timeout", "reset", "chunked", "500", "503-html", "201-html", "201-malformed"],
)
def test_create_order_with_a_hidden_outcome_is_unknown_and_not_retried(
    spectra: SpectraClient,
    spectra_http: Mock,
    spectra_sleeps: list[float],
    spectra_calls: list[Any],
    answer: dict[str, Any],
    code: str,
) -> None:
    spectra_http.post(ORDERS, **answer)

    with pytest.raises(SpectraUnknownOutcome) as info:
        spectra.create_order(ORDER_PAYLOAD)

    assert len(spectra_http.calls) == 1
    assert spectra_sleeps == []
    assert spectra_calls[0].error_code == code
    assert (info.value.method, info.value.path) == ("POST", "/api/v1/orders")
    if "body" in answer and isinstance(answer["body"], Exception):
        assert info.value.__cause__ is answer["body"]


@pytest.mark.parametrize(
    "failure",
    [requests.exceptions.ConnectTimeout("connect timed out"), connect_refused()],
    ids=["connect-timeout", "refused"],
)
def test_create_order_that_never_connected_is_plainly_transient(
    spectra: SpectraClient, spectra_http: Mock, spectra_sleeps: list[float], failure: Exception
) -> None:
    spectra_http.post(ORDERS, body=failure)

    with pytest.raises(SpectraTransientError) as info:
        spectra.create_order(ORDER_PAYLOAD)

    assert not isinstance(info.value, SpectraUnknownOutcome)
    assert info.value.__cause__ is failure
    assert (len(spectra_http.calls), spectra_sleeps) == (1, [])


def test_create_order_rate_limited_is_not_unknown_nor_retried(
    spectra: SpectraClient, spectra_http: Mock, spectra_sleeps: list[float]
) -> None:
    spectra_http.post(ORDERS, status=429, headers={"Retry-After": "1"})

    with pytest.raises(SpectraRateLimited) as info:
        spectra.create_order(ORDER_PAYLOAD)

    assert not isinstance(info.value, SpectraUnknownOutcome)
    assert (len(spectra_http.calls), spectra_sleeps) == (1, [])


def test_create_order_rejection_is_raised_as_is(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(
        ORDERS,
        status=422,
        json=error("validation_failed", "Invalid", fields={"billing.zip": ["Required"]}),
    )

    with pytest.raises(SpectraValidationError) as info:
        spectra.create_order(ORDER_PAYLOAD)

    assert info.value.fields == {"billing.zip": ["Required"]}
    assert len(spectra_http.calls) == 1


def test_get_order_5xx_is_transient_not_unknown(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(f"{ORDERS}/1", **down())

    with pytest.raises(SpectraTransientError) as info:
        spectra.get_order(1)

    assert not isinstance(info.value, SpectraUnknownOutcome)


# --- Retry-After parsing --------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    now = dt.datetime(2015, 10, 21, 7, 28, tzinfo=dt.UTC)

    assert parse_retry_after(header, now=now) == seconds
