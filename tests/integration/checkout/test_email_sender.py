"""Who emails live customers about each kind: Spectra or the app, never both."""

from __future__ import annotations

from typing import Any

import pytest

from checkout.models import EmailNotification
from checkout.services import orders, sync
from checkout.services.spectra import Order as RemoteOrder

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _remote(status: str = "pending", *, is_test: bool = False) -> RemoteOrder:
    return RemoteOrder.from_api(
        {
            "id": 7001,
            "order_number": "ORD-20260515-7001",
            "status": status,
            "payment_status": "captured",
            "grand_total": 25.0,
            "is_test": is_test,
            "email": "ada@example.com",
            "items": [],
        }
    )


def test_kinds_spectra_sends_are_suppressed_for_live_orders(settings: Any) -> None:
    settings.CHECKOUT_EMAIL_SENDER = {"confirmation": "spectra"}

    order, _created = orders.order_record(remote=_remote(), attempt=None)
    sync.order_apply_remote(remote=_remote("shipped"), source="webhook")

    emails = {e.kind: e for e in EmailNotification.objects.filter(order=order)}
    assert emails["confirmation"].status == EmailNotification.Status.SUPPRESSED
    assert "Spectra sends this email" in emails["confirmation"].suppressed_reason
    assert emails["shipped"].status != EmailNotification.Status.SUPPRESSED
    assert emails["shipped"].to_email == "ada@example.com"


def test_test_orders_are_not_left_to_spectra(settings: Any) -> None:
    # Spectra sends no customer email for test orders: the app's rule for them applies.
    settings.CHECKOUT_EMAIL_SENDER = {"confirmation": "spectra"}
    settings.CHECKOUT_SEND_TEST_ORDER_EMAILS = True

    order, _created = orders.order_record(remote=_remote(is_test=True), attempt=None)

    email = EmailNotification.objects.get(order=order, kind="confirmation")
    assert email.status != EmailNotification.Status.SUPPRESSED
