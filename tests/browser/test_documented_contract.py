"""A shopper buys in Chromium against the documented sandbox contract while the answer to
``POST /orders`` is lost: the order is created, then the connection drops.

The documented contract gives the app nothing to lean on: the order carries no
``cart_id`` and no ``payment_intent_id``, ``GET /orders`` ignores a ``cart_id`` filter, a
second post would make a second order, and Spectra only records the PaymentIntent (it never
captures it). What a shopper and the merchant must still see: one order, one capture, one
confirmation email.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import stripe
from django.core import mail
from playwright.sync_api import Page

from checkout.models import CheckoutAttempt, EmailNotification, Order
from checkout.testing.servers import SandboxProcess

from .shopper import ADDRESS, GOOD_CARD, expect_confirmation, go_to_payment, pay, type_card

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("sandbox_contract", ["documented"], indirect=True),
]


def test_a_lost_order_answer_on_the_documented_contract_ends_in_one_order_one_capture(
    page: Page,
    shop_url: str,
    sandbox_reset: SandboxProcess,
    localstripe_stripe_client: stripe.StripeClient,
    settings: Any,
) -> None:
    assert sandbox_reset.documented
    # A sandbox key's orders are test orders; this merchant mails them to see the emails.
    settings.CHECKOUT_SEND_TEST_ORDER_EMAILS = True
    go_to_payment(page, shop_url)
    type_card(page, GOOD_CARD)
    # The next POST /orders creates the order, then the connection drops unanswered.
    requests.post(
        f"{sandbox_reset.control_base}/faults/orders/drop-after-create",
        json={"count": 1},
        timeout=5,
    ).raise_for_status()
    pay(page)
    number = expect_confirmation(page)

    # One order, in Spectra and here, recorded for this checkout.
    state = sandbox_reset.state()
    assert state["contract"] == "documented"
    assert state["orders"] == 1, state
    order = Order.objects.get()
    assert order.order_number == number
    attempt = CheckoutAttempt.objects.get()
    assert attempt.state == CheckoutAttempt.State.PLACED
    assert order.attempt_id == attempt.pk

    # Spectra only recorded the PaymentIntent; the app captured it, once, for the order.
    assert state["captures"] == 0, state
    assert state["gateway_ids_recorded"] == 1, state
    intent = localstripe_stripe_client.v1.payment_intents.retrieve(attempt.payment_intent_id)
    assert intent.status == "succeeded"
    assert int(intent.amount) == round(order.amount_charged * 100)
    order.refresh_from_db()
    assert order.capture_state == Order.Capture.CAPTURED
    captured = [
        pi
        for pi in localstripe_stripe_client.v1.payment_intents.list().data
        if pi.status == "succeeded"
    ]
    assert [pi.id for pi in captured] == [attempt.payment_intent_id]

    # One confirmation email, to the shopper, naming the order.
    confirmations = [m for m in mail.outbox if f"Order {number} confirmed" in str(m.subject)]
    assert len(confirmations) == 1, [m.subject for m in mail.outbox]
    assert confirmations[0].to == [ADDRESS["email"]]
    assert EmailNotification.objects.filter(order=order, kind="confirmation").count() == 1
    # A test order: Spectra mails no customer itself.
    assert sandbox_reset.customer_emails() == []
