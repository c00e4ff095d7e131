"""The Spectra client's transport: headers, timeouts, errors, secrets, observers, sharing."""

from __future__ import annotations

import logging
import threading

import pytest
import requests
import responses
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

import checkout
from checkout.exceptions import (
    SpectraAuthenticationError,
    SpectraBadRequest,
    SpectraConflict,
    SpectraError,
    SpectraNotFound,
    SpectraPaymentRefused,
    SpectraPermissionError,
    SpectraRateLimited,
    SpectraRejection,
    SpectraTransientError,
    SpectraUnknownOutcome,
    SpectraValidationError,
)
from checkout.services.spectra import (
    CallRecord,
    SpectraClient,
    clear_spectra_clients,
    get_spectra_client,
)
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
    sent_kwargs,
)

Mock = responses.RequestsMock


# --- Request basics -------------------------------------------------------------------


def test_every_request_carries_auth_user_agent_accept_and_a_timeout(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    spectra_http.get(f"{API}/orders/1234", json=ok(ORDER))
    spectra_http.post(f"{COMMERCE}/cart", json=ok(CART))

    spectra.get_order(1234)
    spectra.create_cart()

    for call in spectra_http.calls:
        headers = call.request.headers
        assert headers["Authorization"] == f"Bearer {KEY}"
        assert headers["User-Agent"] == (
            f"spectra-checkout/{checkout.__version__} python-requests/{requests.__version__}"
        )
        assert headers["Accept"] == "application/json"
        assert sent_kwargs(call)["timeout"] == (1.5, 7.0)


def test_settings_configure_the_default_client(spectra_http: Mock) -> None:
    with override_settings(
        CHECKOUT_SPECTRA_API_BASE="https://eu.spectra.test/api/v1/",
        CHECKOUT_SPECTRA_API_KEY="spk_live_fromsettings",
        CHECKOUT_SPECTRA_CONNECT_TIMEOUT=2,
        CHECKOUT_SPECTRA_READ_TIMEOUT=4,
    ):
        client = SpectraClient()
    spectra_http.get("https://eu.spectra.test/api/v1/orders/1", json=ok(ORDER))

    client.get_order(1)

    request = spectra_http.calls[0].request
    assert request.headers["Authorization"] == "Bearer spk_live_fromsettings"
    assert sent_kwargs(spectra_http.calls[0])["timeout"] == (2.0, 4.0)


@override_settings(CHECKOUT_SPECTRA_API_KEY="")
def test_a_missing_key_is_a_configuration_error() -> None:
    with pytest.raises(ImproperlyConfigured, match="CHECKOUT_SPECTRA_API_KEY"):
        SpectraClient()


def test_cookies_from_one_answer_are_not_sent_with_the_next(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    spectra_http.get(
        f"{COMMERCE}/cart/{CART_ID}",
        json=ok(CART),
        headers={"Set-Cookie": "lb=shopper-a; Path=/"},
    )
    spectra_http.get(f"{COMMERCE}/cart/{CART_ID}", json=ok(CART))

    spectra.get_cart(CART_ID)
    spectra.get_cart(CART_ID)

    assert "Cookie" not in spectra_http.calls[1].request.headers


def test_writes_do_not_follow_redirects(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(
        f"{API}/orders", status=301, headers={"Location": "https://elsewhere.test/orders"}
    )

    with pytest.raises(SpectraError) as info:
        spectra.create_order(ORDER_PAYLOAD)

    assert info.value.code == "unexpected_redirect"
    assert not isinstance(info.value, SpectraTransientError)
    assert len(spectra_http.calls) == 1


# --- Error mapping --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (400, SpectraBadRequest),
        (401, SpectraAuthenticationError),
        (402, SpectraPaymentRefused),
        (403, SpectraPermissionError),
        (404, SpectraNotFound),
        (409, SpectraConflict),
        (410, SpectraRejection),
        (422, SpectraValidationError),
    ],
)
def test_4xx_answers_raise_their_rejection(
    spectra: SpectraClient, spectra_http: Mock, status: int, exception: type[SpectraError]
) -> None:
    spectra_http.get(
        f"{API}/orders/1234", status=status, json=error("some_code", "Something is off")
    )

    with pytest.raises(exception) as info:
        spectra.get_order(1234)

    err = info.value
    assert type(err) is exception
    assert isinstance(err, SpectraRejection)
    assert (err.status, err.code, err.message) == (status, "some_code", "Something is off")
    assert (err.method, err.path) == ("GET", "/api/v1/orders/1234")
    assert len(spectra_http.calls) == 1  # rejections are never retried


def test_422_carries_the_field_errors(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(
        f"{COMMERCE}/cart/{CART_ID}/items",
        status=422,
        json=error(
            "insufficient_stock",
            "Only 1 left",
            fields={"quantity": ["Only 1 left"], "variant_id": "Unknown"},
        ),
    )

    with pytest.raises(SpectraValidationError) as info:
        spectra.add_cart_item(CART_ID, variant_id=101, quantity=5)

    assert info.value.code == "insufficient_stock"
    assert info.value.fields == {"quantity": ["Only 1 left"], "variant_id": ["Unknown"]}


def test_409_names_the_existing_order(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(
        f"{API}/orders",
        status=409,
        json=error(
            "cart_already_ordered",
            "This cart already has an order",
            order_id=1234,
            order_number="ORD-20260515-0042",
        ),
    )

    with pytest.raises(SpectraConflict) as info:
        spectra.create_order(ORDER_PAYLOAD)

    assert info.value.code == "cart_already_ordered"
    assert info.value.order_id == 1234
    assert info.value.order_number == "ORD-20260515-0042"


def test_409_details_may_be_nested(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(
        f"{API}/orders",
        status=409,
        json=error("cart_already_ordered", "Taken", details={"order_id": "77"}),
    )

    with pytest.raises(SpectraConflict) as info:
        spectra.create_order(ORDER_PAYLOAD)

    assert info.value.order_id == 77


def test_429_carries_retry_after(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(
        f"{COMMERCE}/cart",
        status=429,
        headers={"Retry-After": "12"},
        json=error("rate_limited", "Slow down"),
    )

    with pytest.raises(SpectraRateLimited) as info:
        spectra.create_cart()

    assert info.value.retry_after == 12.0
    assert isinstance(info.value, SpectraTransientError)


def test_5xx_is_transient_with_a_trimmed_body(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(f"{COMMERCE}/cart", status=502, body="<html>" + "x" * 5000 + "</html>")

    with pytest.raises(SpectraTransientError) as info:
        spectra.create_cart()

    err = info.value
    assert err.status == 502
    assert err.message == "Bad Gateway"
    assert len(err.body) == 500
    assert err.body.startswith("<html>")


def test_an_answer_without_envelope_is_an_error(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(f"{COMMERCE}/cart/{CART_ID}", json={"id": CART_ID})

    with pytest.raises(SpectraError) as info:
        spectra.get_cart(CART_ID)

    assert info.value.code == "invalid_response"
    assert info.value.status == 200


def test_a_non_json_success_is_an_error(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(f"{COMMERCE}/cart", body="<html>captive portal</html>")

    with pytest.raises(SpectraError, match="envelope") as info:
        spectra.create_cart()

    assert "captive portal" in info.value.body


def test_success_false_with_200_is_an_error(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(f"{COMMERCE}/cart", json=error("nope", "Refused"))

    with pytest.raises(SpectraError, match="Refused"):
        spectra.create_cart()


def test_a_malformed_object_is_an_invalid_response(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    spectra_http.get(f"{API}/orders/1234", json=ok({"order_number": "ORD-1"}))

    with pytest.raises(SpectraError, match="'id'") as info:
        spectra.get_order(1234)

    assert info.value.code == "invalid_response"
    assert isinstance(info.value.__cause__, ValueError)


def test_transport_errors_are_transient_and_chained(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    cause = requests.exceptions.ConnectionError("Connection reset by peer")
    spectra_http.post(f"{COMMERCE}/cart", body=cause)

    with pytest.raises(SpectraTransientError) as info:
        spectra.create_cart()

    assert info.value.__cause__ is cause
    assert info.value.code == "connection_error"
    assert info.value.status is None


def test_a_bad_url_is_not_transient(spectra_http: Mock) -> None:
    client = SpectraClient(api_base="not a url", api_key=KEY)

    with pytest.raises(SpectraError) as info:
        client.get_order(1)

    assert not isinstance(info.value, SpectraTransientError)
    assert info.value.code == "request_error"


# --- Secrets --------------------------------------------------------------------------


def test_the_key_never_shows_in_repr(spectra: SpectraClient) -> None:
    assert KEY not in repr(spectra)
    assert KEY not in repr(spectra.session.auth)
    assert KEY not in str(vars(spectra.session))


def test_the_key_never_shows_in_errors_or_logs(
    spectra: SpectraClient, spectra_http: Mock, caplog: pytest.LogCaptureFixture
) -> None:
    echo = f"Key {KEY} is revoked (Authorization: Bearer {KEY})"
    spectra_http.get(f"{API}/orders/1", status=401, json=error("invalid_key", echo))
    spectra_http.get(f"{API}/orders/2", status=503, json=error("down", echo))
    spectra_http.get(f"{API}/orders/3", body=requests.exceptions.ReadTimeout(echo))
    caplog.set_level(logging.DEBUG)

    raised: list[SpectraError] = []
    for order_id in (1, 2, 3):
        with pytest.raises(SpectraError) as info:
            spectra.get_order(order_id)
        raised.append(info.value)

    for err in raised:
        for text in (str(err), repr(err), err.message, err.body, repr(vars(err))):
            assert KEY not in text
    assert caplog.records
    assert KEY not in caplog.text


def test_request_bodies_are_not_logged(
    spectra: SpectraClient, spectra_http: Mock, caplog: pytest.LogCaptureFixture
) -> None:
    spectra_http.post(
        f"{COMMERCE}/checkout/validate-gift-card", json=ok({"valid": True, "balance": 5})
    )
    spectra_http.post(f"{API}/orders", status=201, json=ok(ORDER))
    caplog.set_level(logging.DEBUG)

    spectra.validate_gift_card("GIFTCARDSECRET99")
    spectra.create_order(ORDER_PAYLOAD)

    assert "GIFTCARDSECRET99" not in caplog.text
    assert "pi_3Nabc" not in caplog.text
    assert "alice@example.com" not in caplog.text


# --- Logging and observers ------------------------------------------------------------


def test_one_log_line_per_call(
    spectra: SpectraClient, spectra_http: Mock, caplog: pytest.LogCaptureFixture
) -> None:
    spectra_http.get(f"{API}/orders/1234", json=ok(ORDER))
    caplog.set_level(logging.INFO, logger="checkout.services.spectra")

    spectra.get_order(1234)

    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert "GET /api/v1/orders/1234 status=200" in record.getMessage()
    assert "attempt=1" in record.getMessage()


def test_observer_gets_a_record_per_attempt(
    spectra: SpectraClient, spectra_http: Mock, spectra_calls: list[CallRecord]
) -> None:
    spectra_http.get(f"{API}/orders/1234", status=503, json=error("down", "Down"))
    spectra_http.get(f"{API}/orders/1234", json=ok(ORDER))

    spectra.get_order(1234)

    assert [(c.method, c.path, c.status, c.attempt, c.ok) for c in spectra_calls] == [
        ("GET", "/api/v1/orders/1234", 503, 1, False),
        ("GET", "/api/v1/orders/1234", 200, 2, True),
    ]
    assert spectra_calls[0].error_code == "down"
    assert spectra_calls[1].error_code == ""
    assert all(c.duration_ms >= 0 for c in spectra_calls)
    assert spectra_calls[0].started_at <= spectra_calls[1].started_at


def test_observer_sees_transport_failures(
    spectra: SpectraClient, spectra_http: Mock, spectra_calls: list[CallRecord]
) -> None:
    spectra_http.post(f"{API}/orders", body=requests.exceptions.ReadTimeout())

    with pytest.raises(SpectraUnknownOutcome):
        spectra.create_order(ORDER_PAYLOAD)

    [record] = spectra_calls
    assert (record.status, record.error_code, record.ok) == (None, "timeout", False)


def test_observe_records_only_calls_inside_the_block(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    spectra_http.get(f"{API}/orders/1", json=ok(ORDER))
    spectra_http.post(f"{API}/orders", status=201, json=ok(ORDER))
    spectra_http.get(f"{API}/orders/2", json=ok(ORDER))
    seen: list[CallRecord] = []

    spectra.get_order(1)
    with spectra.observe(seen.append):
        spectra.create_order(ORDER_PAYLOAD)
    spectra.get_order(2)

    assert [(c.method, c.path) for c in seen] == [("POST", "/api/v1/orders")]


def test_observe_is_per_thread(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(f"{API}/orders/1", json=ok(ORDER))
    spectra_http.get(f"{API}/orders/2", json=ok(ORDER))
    seen: list[CallRecord] = []

    with spectra.observe(seen.append):
        other = threading.Thread(target=spectra.get_order, args=(2,))
        other.start()
        other.join()
        spectra.get_order(1)

    assert [c.path for c in seen] == ["/api/v1/orders/1"]


def test_a_failing_observer_is_logged_not_raised(
    spectra: SpectraClient, spectra_http: Mock, caplog: pytest.LogCaptureFixture
) -> None:
    spectra_http.get(f"{API}/orders/1234", json=ok(ORDER))

    def broken(record: CallRecord) -> None:
        raise RuntimeError("observer bug")

    with spectra.observe(broken):
        order = spectra.get_order(1234)

    assert order.id == 1234
    assert "observer" in caplog.text
    assert "observer bug" in caplog.text


# --- Shared clients -------------------------------------------------------------------


def test_get_spectra_client_is_shared_per_configuration() -> None:
    clear_spectra_clients()
    first = get_spectra_client()

    assert get_spectra_client() is first
    with override_settings(CHECKOUT_SPECTRA_API_KEY="spk_test_other"):
        other = get_spectra_client()
        assert other is not first
        assert get_spectra_client() is other
    with override_settings(CHECKOUT_SPECTRA_READ_TIMEOUT=99):
        assert get_spectra_client() is not first
    assert get_spectra_client() is first


def test_get_spectra_client_is_thread_safe() -> None:
    clear_spectra_clients()
    got: list[SpectraClient] = []
    start = threading.Barrier(8)

    def grab() -> None:
        start.wait()
        got.append(get_spectra_client())

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(c) for c in got}) == 1


def test_shared_client_reads_retry_settings_at_call_time(spectra_http: Mock) -> None:
    clear_spectra_clients()
    client = get_spectra_client()
    spectra_http.get("http://spectra.test/api/v1/orders/1", status=503, json=error("down", "Down"))

    with override_settings(CHECKOUT_SPECTRA_MAX_RETRIES=0), pytest.raises(SpectraTransientError):
        client.get_order(1)

    assert len(spectra_http.calls) == 1
