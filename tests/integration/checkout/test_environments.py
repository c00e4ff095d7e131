"""Orders are keyed by environment and id: sandbox-era (test) rows never collide with
live ones, and going live can clear them (``checkout_clear_test_orders``)."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from checkout.models import CheckoutAttempt, EmailNotification, Order, OrderEvent
from checkout.services import orders
from checkout.services.spectra import Order as RemoteOrder
from tests.integration.webhooks.conftest import ADDRESS

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def remote(*, is_test: bool, email: str = "ada@example.com") -> RemoteOrder:
    # Both environments number their first order of the day alike.
    return RemoteOrder.from_api(
        {
            "id": 1001,
            "order_number": "ORD-20261204-0001",
            "status": "pending",
            "payment_status": "captured",
            "grand_total": 20.0,
            "is_test": is_test,
            "email": email,
            "billing": {**ADDRESS, "email": email},
            "items": [],
        }
    )


def test_a_live_order_with_a_sandbox_era_id_is_a_new_order() -> None:
    sandbox_era, created_test = orders.order_record(remote=remote(is_test=True), attempt=None)
    live, created_live = orders.order_record(
        remote=remote(is_test=False, email="live@example.com"), attempt=None
    )

    assert (created_test, created_live) == (True, True)
    assert sandbox_era.pk != live.pk
    assert (live.is_test, live.email) == (False, "live@example.com")
    # Each gets its own confirmation: the live shopper is not skipped as a "duplicate".
    assert EmailNotification.objects.filter(order=live, kind="confirmation").count() == 1
    again, created_again = orders.order_record(remote=remote(is_test=False), attempt=None)
    assert (again.pk, created_again) == (live.pk, False)


def test_one_environment_still_holds_each_id_once() -> None:
    orders.order_record(remote=remote(is_test=False), attempt=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(
            spectra_id=1001, order_number="ORD-OTHER", is_test=False, grand_total=Decimal("1")
        )


def clear(*args: str) -> str:
    out = StringIO()
    call_command("checkout_clear_test_orders", *args, stdout=out)
    return out.getvalue()


def test_going_live_clears_sandbox_era_rows_only(settings: Any) -> None:
    attempt = CheckoutAttempt.objects.create(
        cart_id="cart-test", email="ada@example.com", amount_due=Decimal("20.00")
    )
    sandbox_era, _ = orders.order_record(remote=remote(is_test=True), attempt=attempt)
    live, _ = orders.order_record(remote=remote(is_test=False), attempt=None)
    settings.CHECKOUT_SPECTRA_API_KEY = "spk_test_still"

    with pytest.raises(CommandError, match="test key"):
        clear("--yes")

    settings.CHECKOUT_SPECTRA_API_KEY = "spk_live_now"
    counted = clear()
    assert "Would delete 1 test orders, 1 checkout attempts" in counted
    assert Order.objects.count() == 2

    done = clear("--yes")

    assert "Deleted 1 test orders, 1 checkout attempts" in done
    assert list(Order.objects.all()) == [live]
    assert not CheckoutAttempt.objects.filter(pk=attempt.pk).exists()
    assert not OrderEvent.objects.filter(order_id=sandbox_era.pk).exists()
    assert EmailNotification.objects.filter(order=live).count() == 1
