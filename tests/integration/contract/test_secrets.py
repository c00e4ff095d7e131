"""Contract: the API key never shows in an exception, a log line, a record or a repr."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache

from checkout.exceptions import SpectraError

from .conftest import HUGE_GIFT_CARD, Contract

pytestmark = [pytest.mark.integration]

SECRET_KEY = "spk_test_contract_secret_9f8e7d"
UNKNOWN_KEY = "spk_live_never_registered_c0ffee"


def texts_of(exc: SpectraError) -> list[str]:
    return [str(exc), repr(exc), exc.message, exc.body, repr(vars(exc)), repr(exc.args)]


def test_no_key_in_exceptions_or_logs(contract: Contract, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    contract.add_key(SECRET_KEY, scopes="catalog:read,orders:read", limits=[[12, 60]])
    client = contract.client(api_key=SECRET_KEY, read_timeout=0.2, cache_ttl=300, max_retries=1)
    writer = contract.client()
    cart = contract.cart(writer)
    contract.fault("GET /api/v1/orders", "error", status=503, count=2)
    contract.fault("GET /api/v1/orders/{id}", "hang", seconds=0.5, count=2)

    failing: list[Callable[[], Any]] = [
        lambda: client.get_product(4242),  # 404
        lambda: client.list_orders(),  # 503, retried, gives up
        lambda: client.get_order(1001),  # timeout, retried, gives up
        lambda: client.create_order(  # 403
            contract.payload(cart.id, None, gift_card_code=HUGE_GIFT_CARD)
        ),
        lambda: client.add_cart_item(cart.id, variant_id=1, quantity=1),  # 422
        lambda: contract.client(api_key=UNKNOWN_KEY).list_categories(),  # 401
    ]
    errors: list[SpectraError] = []
    for call in failing:
        with pytest.raises(SpectraError) as excinfo:
            call()
        errors.append(excinfo.value)
    client.list_products()
    client.list_products()  # from the cache
    while True:  # run the key into its rate limit
        try:
            client.list_categories()
            cache.clear()
        except SpectraError as exc:
            errors.append(exc)
            break

    assert [e.status for e in errors] == [404, 503, None, 403, 422, 401, 429]
    for err in errors:
        for text in texts_of(err):
            assert SECRET_KEY not in text, text
            assert UNKNOWN_KEY not in text, text
            assert "Bearer" not in text
    assert caplog.records, "the client logs every call"
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert SECRET_KEY not in caplog.text
    assert UNKNOWN_KEY not in caplog.text
    assert "Bearer" not in caplog.text
    for record in contract.recorder.calls:
        assert SECRET_KEY not in repr(record)
    assert SECRET_KEY not in repr(client.session.auth)
    assert SECRET_KEY not in repr(client)


def test_cache_keys_do_not_hold_the_api_key(contract: Contract) -> None:
    contract.add_key(SECRET_KEY, scopes="*")
    client = contract.client(api_key=SECRET_KEY, cache_ttl=300)
    seen: list[str] = []
    original_set = cache.set

    def spy_set(key: str, value: Any, timeout: Any = None, **kwargs: Any) -> Any:
        seen.append(key)
        return original_set(key, value, timeout, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cache, "set", spy_set)
        client.list_categories()
        client.get_product(1)

    assert len(seen) == 2
    assert all(SECRET_KEY not in key for key in seen)
