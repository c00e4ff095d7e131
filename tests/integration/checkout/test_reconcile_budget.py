"""Reconciliation's share of the API key: a budget per hour, a pause after 429, final orders left.

Spectra is answered with ``responses`` (the test settings' base URL); orders are rows made
here, with their payment already verified, so only Spectra calls are counted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import responses
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from checkout.models import Order
from checkout.services import budget
from checkout.services.reconcile import orders_reconcile

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

API = "http://spectra.test/api/v1"


@pytest.fixture(autouse=True)
def fresh_budget(settings: Any) -> Iterator[None]:
    settings.CHECKOUT_SPECTRA_API_BASE = API
    cache.delete_many([budget._hour_key(), budget._BACKOFF_KEY])
    yield
    cache.delete_many([budget._hour_key(), budget._BACKOFF_KEY])


@pytest.fixture
def spectra_api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _orders(count: int, *, status: str = "pending", age: dt.timedelta | None = None) -> list[Order]:
    now = timezone.now()
    placed = now - (age or dt.timedelta(minutes=5))
    start = Order.objects.count()
    return Order.objects.bulk_create(
        Order(
            spectra_id=900_000 + start + i,
            order_number=f"ORD-20260515-{start + i:05d}",
            status=status,
            payment_status="captured",
            grand_total=Decimal("10.00"),
            placed_at=placed,
            spectra_updated_at=placed,
            capture_state=Order.Capture.CAPTURED,
        )
        for i in range(count)
    )


def _answer(spectra_api: responses.RequestsMock, status: str = "pending") -> None:
    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        order_id = int(request.url.rsplit("/", 1)[1])
        import json

        body = {
            "success": True,
            "data": {
                "id": order_id,
                "order_number": f"ORD-{order_id}",
                "status": status,
                "payment_status": "captured",
                "grand_total": 10.0,
                "is_test": False,
                "items": [],
            },
        }
        return 200, {}, json.dumps(body)

    spectra_api.add_callback("GET", re.compile(rf"{API}/orders/\d+"), callback=reply)


def test_a_pass_spends_only_its_share_of_the_hourly_budget(
    settings: Any, spectra_api: responses.RequestsMock
) -> None:
    # A Free key: 100/hour, 20% of it is 20 calls an hour, two per five-minute pass.
    settings.CHECKOUT_SPECTRA_HOURLY_LIMIT = 100
    _orders(10)
    _answer(spectra_api)

    result = orders_reconcile()

    assert len(spectra_api.calls) == 2
    assert result.checked == 2
    assert result.remaining == 8
    assert budget.background_budget().used_this_hour == 2
    assert result.budget_left == 18


def test_an_hour_whose_budget_is_spent_makes_no_call(
    settings: Any, spectra_api: responses.RequestsMock
) -> None:
    settings.CHECKOUT_SPECTRA_HOURLY_LIMIT = 100
    _orders(3)
    _answer(spectra_api)
    budget.background_calls_spent(20)

    result = orders_reconcile()

    assert len(spectra_api.calls) == 0
    assert result.budget_left == 0
    assert result.remaining == 3


def test_a_429_pauses_background_calls_until_retry_after(
    settings: Any, spectra_api: responses.RequestsMock
) -> None:
    settings.CHECKOUT_SPECTRA_HOURLY_LIMIT = 1000
    settings.CHECKOUT_SPECTRA_MAX_RETRIES = 0
    _orders(3)
    spectra_api.add(
        "GET",
        re.compile(rf"{API}/orders/\d+"),
        status=429,
        headers={"Retry-After": "120"},
        json={"success": False, "error": {"code": "rate_limited", "message": "Slow down."}},
    )

    first = orders_reconcile()
    assert first.rate_limited
    assert len(spectra_api.calls) == 1

    second = orders_reconcile()  # still inside Retry-After: not one call
    assert second.rate_limited
    assert len(spectra_api.calls) == 1
    status = budget.background_budget()
    assert status.backing_off
    assert status.backoff_until is not None
    assert status.backoff_until > timezone.now() + dt.timedelta(seconds=100)


def test_final_orders_stop_being_polled_delivered_after_the_window(
    settings: Any, spectra_api: responses.RequestsMock
) -> None:
    settings.CHECKOUT_STOP_POLLING_FINAL_AFTER = 7 * 24 * 3600
    old_delivered = _orders(2, status="delivered", age=dt.timedelta(days=8))
    recent_delivered = _orders(1, status="delivered", age=dt.timedelta(days=2))
    _orders(1, status="cancelled")
    _orders(1, status="refunded")
    open_orders = _orders(2, status="shipped")
    _answer(spectra_api, status="shipped")

    orders_reconcile()

    asked = {int(str(call.request.url).rsplit("/", 1)[1]) for call in spectra_api.calls}
    assert asked == {o.spectra_id for o in [*recent_delivered, *open_orders]}
    assert not asked & {o.spectra_id for o in old_delivered}


def test_the_command_and_the_doctor_show_the_budget(
    settings: Any, spectra_api: responses.RequestsMock
) -> None:
    from io import StringIO

    from checkout.management.commands.checkout_doctor import check_background_budget

    settings.CHECKOUT_SPECTRA_HOURLY_LIMIT = 1000
    _orders(1)
    _answer(spectra_api)
    out = StringIO()
    call_command("checkout_reconcile", "--no-sweep", stdout=out)
    assert "Background budget left this hour: 199 calls." in out.getvalue()

    result = check_background_budget()
    assert result.status == "OK"
    assert result.detail == "200 calls/hour (20% of 1000), 1 used this hour"


def test_the_sweep_leaves_unknown_outcomes_for_the_next_hour_once_the_budget_is_spent(
    settings: Any, spectra_api: responses.RequestsMock
) -> None:
    from checkout.models import CheckoutAttempt
    from checkout.services.reconcile import checkout_sweep

    settings.CHECKOUT_SPECTRA_HOURLY_LIMIT = 100
    past = timezone.now() - dt.timedelta(minutes=10)
    attempt = CheckoutAttempt.objects.create(
        cart_id="cart-budget",
        state=CheckoutAttempt.State.SUBMITTING,
        payment_intent_id="pi_kept",
        submitted_at=past,
    )
    CheckoutAttempt.objects.filter(pk=attempt.pk).update(updated_at=past)
    budget.background_calls_spent(20)

    checkout_sweep()

    assert len(spectra_api.calls) == 0
    attempt.refresh_from_db()
    assert attempt.state == CheckoutAttempt.State.SUBMITTING
