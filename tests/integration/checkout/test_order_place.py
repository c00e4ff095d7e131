"""Placing orders end to end against the live Spectra sandbox and localstripe.

Each test plays what the checkout pages do (pay with a PaymentMethod from Stripe.js, then
place) and checks what the shopper and the merchant would notice: the order exists once in
Spectra and locally, the card was charged once or its hold released, and the message names
the step that can fix a refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from checkout.exceptions import PaymentDeclined
from checkout.models import CheckoutAttempt, EmailNotification, Order, OrderEvent
from checkout.money import to_minor_units
from checkout.services import orders
from checkout.services.orders import placement

from .support import ADDRESS, Live

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

State = CheckoutAttempt.State
MakeAttempt = Callable[..., CheckoutAttempt]


def _pay(live: Live, attempt: CheckoutAttempt, card: str = "4242424242424242") -> str:
    outcome = orders.attempt_pay(attempt=attempt, payment_method_id=live.payment_method(card))
    assert outcome.status == "authorized"
    return outcome.payment_intent_id


def test_placed_order_is_stored_charged_once_and_confirmed(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    attempt = ready_attempt()
    quote = orders.attempt_quote(attempt=attempt)
    pi_id = _pay(live, attempt)
    intent = live.intent(pi_id)
    assert intent["status"] == "requires_capture"
    assert int(intent["amount"]) == to_minor_units(quote.amount_due, currency="USD")
    assert intent["metadata"] == {
        "checkout_attempt": str(attempt.public_id),
        "cart_id": attempt.cart_id,
    }

    result = orders.order_place(attempt=attempt)

    assert result.status == "placed", result
    order = result.order
    assert order is not None
    assert order.order_number.startswith("ORD-")
    assert order.is_test is True
    assert order.status == "pending"
    assert order.payment_status == "captured"
    assert order.grand_total == quote.grand_total
    assert order.amount_charged == quote.amount_due
    assert order.payment_intent_id == pi_id
    assert order.shipping["zip"] == "11201"
    assert order.billing["email"] == "alice@example.com"
    assert len(order.items) == 1
    assert live.intent(pi_id)["status"] == "succeeded"
    attempt.refresh_from_db()
    assert attempt.state == State.PLACED
    # The confirmation email is in the ledger (suppressed: a test order sends no mail).
    assert EmailNotification.objects.filter(order=order, kind="confirmation").count() == 1
    # The timeline tells the story, including the API calls made for the attempt.
    calls = OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.API_CALL)
    assert calls.filter(data__method="POST", data__path="/api/v1/orders", data__status=201)
    assert OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.PAYMENT).exists()

    # A second click, a refresh, a second tab: the same order, nothing posted again.
    again = orders.order_place(attempt=attempt)
    assert again.status == "placed"
    assert again.order == order
    assert orders.attempt_pay(
        attempt=attempt, payment_method_id=live.payment_method()
    ).payment_intent_id == (pi_id)
    state = live.state()
    assert state["orders"] == 1
    assert live.captures() == 1
    assert Order.objects.count() == 1
    assert [i["id"] for i in live.intents()] == [pi_id]
    # The cart now leads to the placed attempt, never to a new checkout.
    assert orders.attempt_for_cart(cart_id=attempt.cart_id, owner="s1") == attempt


def test_a_try_from_a_row_read_before_the_last_try_still_gets_a_key_of_its_own(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    # Two requests read the attempt; the first try is declined. The second, with the
    # count it read before (as the pay view passes its row, reload=False), must not reuse
    # the first try's idempotency key: Stripe would answer with the declined intent.
    attempt = ready_attempt()
    read_earlier = CheckoutAttempt.objects.get(pk=attempt.pk)
    with pytest.raises(PaymentDeclined):
        orders.attempt_pay(
            attempt=attempt, payment_method_id=live.payment_method("4000000000000341")
        )

    outcome = orders.attempt_pay(
        attempt=read_earlier,
        payment_method_id=live.payment_method("4242424242424242"),
        reload=False,
    )

    assert outcome.status == "authorized"
    assert CheckoutAttempt.objects.get(pk=attempt.pk).payment_tries == 2
    assert len({i["id"] for i in live.intents()}) == 2


def test_declined_card_then_another_card_with_a_new_payment_intent(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    attempt = ready_attempt()
    with pytest.raises(PaymentDeclined) as declined:
        orders.attempt_pay(
            attempt=attempt, payment_method_id=live.payment_method("4000000000000341")
        )
    assert "declined" in declined.value.message.lower()
    attempt.refresh_from_db()
    assert attempt.state == State.COLLECTING
    assert attempt.payment_tries == 1
    assert attempt.failure_code == "card_declined"
    placed_too_early = orders.order_place(attempt=attempt)
    assert placed_too_early.status == "rejected"
    assert placed_too_early.step == "payment"

    pi_id = _pay(live, attempt)
    attempt.refresh_from_db()
    assert attempt.payment_tries == 2

    result = orders.order_place(attempt=attempt)
    assert result.status == "placed", result
    assert result.order is not None
    assert result.order.payment_intent_id == pi_id
    assert live.captures() == 1


def test_unknown_payment_method_asks_for_the_card_again(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    attempt = ready_attempt()
    with pytest.raises(PaymentDeclined) as refused:
        orders.attempt_pay(attempt=attempt, payment_method_id="pm_forged_by_the_browser")
    assert refused.value.code == "invalid_payment_method"
    assert "card" in refused.value.message.lower()
    attempt.refresh_from_db()
    assert attempt.state == State.COLLECTING
    assert attempt.payment_intent_id == ""
    # The shopper enters the card again and pays.
    _pay(live, attempt)
    assert orders.order_place(attempt=attempt).status == "placed"


def test_three_d_secure_completed_in_the_page_then_placed(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    attempt = ready_attempt()
    outcome = orders.attempt_pay(
        attempt=attempt, payment_method_id=live.payment_method("4000002500003155")
    )
    assert outcome.status == "requires_action"
    assert outcome.client_secret

    # Placing before the shopper finished 3-D Secure is refused, the intent is kept.
    early = orders.order_place(attempt=attempt)
    assert early.status == "rejected"
    assert early.code == "authentication_required"
    assert live.intent(outcome.payment_intent_id)["status"] == "requires_action"

    live.authenticate(outcome.payment_intent_id, outcome.client_secret, success=True)
    result = orders.order_place(attempt=attempt)

    assert result.status == "placed", result
    assert result.order is not None
    assert result.order.payment_intent_id == outcome.payment_intent_id
    assert live.intent(outcome.payment_intent_id)["status"] == "succeeded"


def test_three_d_secure_failed_then_another_card(live: Live, ready_attempt: MakeAttempt) -> None:
    attempt = ready_attempt()
    outcome = orders.attempt_pay(
        attempt=attempt, payment_method_id=live.payment_method("4000002500003155")
    )
    assert outcome.client_secret
    live.authenticate(outcome.payment_intent_id, outcome.client_secret, success=False)

    failed = orders.order_place(attempt=attempt)
    assert failed.status == "rejected"
    assert failed.step == "payment"
    assert live.state()["orders"] == 0

    pi_id = _pay(live, attempt)
    assert pi_id != outcome.payment_intent_id
    assert orders.order_place(attempt=attempt).status == "placed"


# --- Rejections -------------------------------------------------------------------------


@pytest.mark.default_contract("the API checks the PaymentIntent's amount and refuses with 402")
def test_rejected_402_when_the_total_grew_after_authorization(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    variant = live.variant()
    cart_id = live.cart((variant, 1))
    attempt = ready_attempt(cart_id)
    pi_id = _pay(live, attempt)
    # The cart changes in another tab after the card was authorized.
    live.spectra.add_cart_item(cart_id, variant_id=variant.id, quantity=1)

    result = orders.order_place(attempt=attempt)

    assert result.status == "rejected"
    assert result.code == "payment_amount_mismatch"
    assert result.step == "payment"
    assert "review" in result.message.lower()
    assert live.intent(pi_id)["status"] == "canceled"  # the hold is released
    attempt.refresh_from_db()
    assert attempt.state == State.COLLECTING
    assert attempt.payment_intent_id == ""
    assert Order.objects.count() == 0

    # Paying again authorizes the new total on a new PaymentIntent and places the order.
    new_pi = _pay(live, attempt)
    assert new_pi != pi_id
    placed = orders.order_place(attempt=attempt)
    assert placed.status == "placed"
    assert placed.order is not None
    assert placed.order.items[0]["quantity"] == 2


@pytest.mark.parametrize("sandbox_contract", ["documented"], indirect=True)
def test_documented_api_order_above_the_hold_goes_to_staff_not_silently_underpaid(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    # The documented API records the PaymentIntent without checking it, so a cart that
    # grew after the card was authorized becomes an order for more than the hold.
    variant = live.variant()
    cart_id = live.cart((variant, 1))
    attempt = ready_attempt(cart_id)
    _pay(live, attempt)
    live.spectra.add_cart_item(cart_id, variant_id=variant.id, quantity=1)

    result = orders.order_place(attempt=attempt)

    assert result.status != "placed", result
    attempt.refresh_from_db()
    assert attempt.state == State.NEEDS_REVIEW
    assert attempt.failure_code == "amount_charged_exceeds_authorization"
    order = Order.objects.get()
    assert order.amount_charged > attempt.amount_due
    assert OrderEvent.objects.filter(
        order=order, message__contains="amount_charged_exceeds_authorization"
    ).exists()


def test_rejected_422_out_of_stock_releases_the_hold(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    variant = live.variant(min_stock=2)
    stock = variant.quantity_available
    attempt = ready_attempt(live.cart((variant, stock)), service_code="ups_ground")
    pi_id = _pay(live, attempt)
    # Somebody else buys one unit first (paid fully by gift card, no card needed).
    other = live.cart((variant, 1))
    rate = live.spectra.get_shipping_rates(other, address={"zip": "11201"})[0]
    live.spectra.create_order(
        {
            "cart_id": other,
            "billing": {**_address(), "email": "bob@example.com", "phone": "555-0000"},
            "shipping": _address(),
            "shipping_method": {
                "method": "ground",
                "carrier": rate.carrier,
                "service": rate.service,
                "cost": rate.price,
            },
            "payment": {"method": "stripe", "gift_card_code": "CARDHUGEBALANCEX"},
        }
    )

    result = orders.order_place(attempt=attempt)

    assert result.status == "rejected"
    assert result.code == "insufficient_stock"
    assert result.step is None  # fixed in the cart
    assert "available" in result.message
    assert live.intent(pi_id)["status"] == "canceled"
    assert live.state()["orders"] == 1  # only the other shopper's
    assert Order.objects.count() == 0


@pytest.mark.default_contract("a second POST /orders for an ordered cart is a 409")
def test_rejected_409_when_the_cart_was_ordered_with_another_payment(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    attempt = ready_attempt()
    pi_id = _pay(live, attempt)
    # The same cart is ordered elsewhere (another channel) with another card.
    params: dict[str, Any] = {
        "amount": to_minor_units(attempt.amount_due, currency="USD"),
        "currency": "usd",
        "payment_method": live.payment_method(),
        "payment_method_types": ["card"],
        "capture_method": "manual",
        "confirm": True,
    }
    # localstripe wants payment_method_types, which stripe's params type no longer lists.
    other = live.stripe.v1.payment_intents.create(params=params)  # type: ignore[arg-type]
    live.spectra.create_order(
        {
            **orders.order_payload(attempt),
            "payment": {
                "method": "stripe",
                "gateway_id": other.id,
            },
        }
    )

    result = orders.order_place(attempt=attempt)

    assert result.status == "rejected"
    assert result.code == "cart_already_ordered"
    assert live.intent(pi_id)["status"] == "canceled"
    attempt.refresh_from_db()
    assert attempt.state == State.FAILED
    assert Order.objects.count() == 0
    assert live.captures() == 1


# --- Unknown outcomes ----------------------------------------------------------------


def test_unknown_outcome_is_resolved_by_lookup_and_adopted(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    attempt = ready_attempt()
    pi_id = _pay(live, attempt)
    live.drop_after_create()  # the sandbox creates the order, then drops the connection

    result = orders.order_place(attempt=attempt)

    assert result.status == "placed", result
    assert result.order is not None
    assert result.order.payment_intent_id == pi_id
    state = live.state()
    assert state["orders"] == 1
    assert live.captures() == 1
    posts = OrderEvent.objects.filter(
        attempt=attempt, data__method="POST", data__path="/api/v1/orders"
    )
    assert posts.count() == 1  # never posted again
    assert OrderEvent.objects.filter(
        attempt=attempt, data__method="GET", data__path="/api/v1/orders"
    ).exists()


def test_unknown_outcome_with_no_order_is_posted_again_once(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    attempt = ready_attempt()
    _pay(live, attempt)
    live.fault(route="POST /api/v1/orders", action="error", status=503, count=1)

    result = orders.order_place(attempt=attempt)

    assert result.status == "placed", result
    assert live.state()["orders"] == 1
    posts = OrderEvent.objects.filter(
        attempt=attempt, data__method="POST", data__path="/api/v1/orders"
    )
    assert [e.data["status"] for e in posts.order_by("id")] == [503, 201]


def test_still_unknown_is_pending_then_the_sweep_places_it(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    attempt = ready_attempt()
    _pay(live, attempt)
    live.fault(route="POST /api/v1/orders", action="error", status=502, count=2)

    result = orders.order_place(attempt=attempt)

    assert result.status == "pending"
    assert "confirming" in result.message
    attempt.refresh_from_db()
    assert attempt.state == State.SUBMITTING
    # A refresh meanwhile shows the same pending page and posts nothing.
    placement.SUBMIT_WAIT_SECONDS, wait = 0.2, placement.SUBMIT_WAIT_SECONDS
    try:
        assert orders.order_place(attempt=attempt).status == "pending"
    finally:
        placement.SUBMIT_WAIT_SECONDS = wait
    # The sweep leaves a submission that might still be in flight alone...
    assert orders.attempt_recover(attempt=attempt).status == "pending"  # type: ignore[union-attr]
    assert live.state()["orders"] == 0
    # ...and once it cannot be, looks the order up, finds none and places it.
    _age(attempt, minutes=5)
    recovered = orders.attempt_recover(attempt=attempt)
    assert recovered is not None
    assert recovered.status == "placed"
    assert live.state()["orders"] == 1
    assert orders.order_place(attempt=attempt).status == "placed"


def test_sweep_adopts_an_order_that_was_created_while_we_did_not_know(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    attempt = ready_attempt()
    _pay(live, attempt)
    live.drop_after_create()
    # The lookup fails too, so placement ends pending...
    live.fault(route="GET /api/v1/orders", action="error", status=503, count=4)
    assert orders.order_place(attempt=attempt).status == "pending"
    # ...and the sweep adopts the order rather than posting again.
    _age(attempt, minutes=5)
    recovered = orders.attempt_recover(attempt=attempt)
    assert recovered is not None
    assert recovered.status == "placed"
    assert live.state()["orders"] == 1
    assert live.captures() == 1


@pytest.mark.default_contract("the API checks the PaymentIntent and refuses a lapsed hold with 402")
def test_rejected_when_the_hold_lapsed_between_pay_and_place(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    # Placing does not ask Stripe first for an authorization it saw: the API checks the
    # PaymentIntent when it captures, and its 402 sends the shopper back to pay.
    attempt = ready_attempt()
    pi_id = _pay(live, attempt)
    live.stripe.v1.payment_intents.cancel(pi_id)

    result = orders.order_place(attempt=attempt)

    assert (result.status, result.code, result.step) == (
        "rejected",
        "payment_not_authorized",
        "payment",
    )
    assert "pay again" in result.message.lower()
    attempt.refresh_from_db()
    assert attempt.state == State.COLLECTING
    assert attempt.payment_intent_id == ""
    assert Order.objects.count() == 0
    assert live.state()["orders"] == 0
    assert live.captures() == 0
    # The shopper pays again with a new authorization and the order is placed.
    assert _pay(live, attempt) != pi_id
    assert orders.order_place(attempt=attempt).status == "placed"


def test_sweep_releases_an_abandoned_authorization(
    live: Live, ready_attempt: MakeAttempt, settings: object
) -> None:
    attempt = ready_attempt()
    pi_id = _pay(live, attempt)
    # The card is no longer usable (e.g. the authorization lapsed).
    live.stripe.v1.payment_intents.cancel(pi_id)
    _age(attempt, minutes=5)

    result = orders.attempt_recover(attempt=attempt)

    assert result is not None
    assert result.status == "rejected"
    attempt.refresh_from_db()
    assert attempt.state == State.FAILED
    assert live.state()["orders"] == 0


# --- Promo and gift card -------------------------------------------------------------


def test_promo_code_discount_matches_what_the_api_charges(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    attempt = ready_attempt()
    before = orders.attempt_quote(attempt=attempt)
    quote = orders.attempt_apply_promo(attempt=attempt, code="save10")
    assert quote.promo_code == "SAVE10"
    assert quote.discount_total == (before.subtotal / 10).quantize(Decimal("0.01"))
    assert quote.amount_due < before.amount_due

    _pay(live, attempt)
    result = orders.order_place(attempt=attempt)

    assert result.status == "placed", result
    order = result.order
    assert order is not None
    assert order.promo_code == "SAVE10"
    assert order.discount_total == quote.discount_total
    assert order.tax_total == quote.tax_estimate
    assert order.amount_charged == quote.amount_due


def test_expired_promo_code_is_refused_with_the_api_reason(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    from checkout.exceptions import InvalidPromoCode

    attempt = ready_attempt()
    with pytest.raises(InvalidPromoCode) as refused:
        orders.attempt_apply_promo(attempt=attempt, code="EXPIRED15")
    assert "expired" in refused.value.message
    attempt.refresh_from_db()
    assert attempt.promo_code == ""


def test_free_shipping_promo_on_ground(live: Live, ready_attempt: MakeAttempt) -> None:
    attempt = ready_attempt(service_code="ups_ground")
    quote = orders.attempt_apply_promo(attempt=attempt, code="FREESHIP")
    assert quote.free_shipping
    assert quote.shipping_total == Decimal("0.00")
    _pay(live, attempt)
    result = orders.order_place(attempt=attempt)
    assert result.status == "placed", result
    assert result.order is not None
    assert result.order.shipping_total == Decimal("0.00")


def test_gift_card_partial_cover_charges_the_rest_to_the_card(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    attempt = ready_attempt()
    quote = orders.attempt_apply_gift_card(attempt=attempt, code="card-25ba-lanc-eabc")
    assert quote.gift_card_amount == Decimal("25.00")
    assert quote.amount_due == quote.grand_total - Decimal("25.00")

    pi_id = _pay(live, attempt)
    assert int(live.intent(pi_id)["amount"]) == to_minor_units(quote.amount_due, currency="USD")
    result = orders.order_place(attempt=attempt)

    assert result.status == "placed", result
    assert result.order is not None
    assert result.order.gift_card_total == Decimal("25.00")
    assert result.order.amount_charged == quote.amount_due
    assert live.state()["gift_cards"]["CARD25BALANCEABC"]["balance"] == 0.0


def test_gift_card_full_cover_needs_no_payment_intent(
    live: Live, ready_attempt: MakeAttempt
) -> None:
    attempt = ready_attempt()
    quote = orders.attempt_apply_gift_card(attempt=attempt, code="CARDHUGEBALANCEX")
    assert quote.amount_due == Decimal("0.00")
    assert not quote.payment_required

    outcome = orders.attempt_pay(attempt=attempt, payment_method_id="")
    assert outcome.status == "not_required"
    result = orders.order_place(attempt=attempt)

    assert result.status == "placed", result
    assert result.order is not None
    assert result.order.amount_charged == Decimal("0.00")
    assert result.order.gift_card_total == quote.grand_total
    assert live.intents() == []
    assert live.captures() == 0


def test_invalid_gift_card_is_refused(live: Live, ready_attempt: MakeAttempt) -> None:
    from checkout.exceptions import InvalidGiftCard

    attempt = ready_attempt()
    with pytest.raises(InvalidGiftCard) as refused:
        orders.attempt_apply_gift_card(attempt=attempt, code="CARDREDEEMEDXYZW")
    assert "no balance" in refused.value.message


# --- helpers ---------------------------------------------------------------------------


def _address() -> dict[str, str]:
    return dict(ADDRESS)


def _age(attempt: CheckoutAttempt, *, minutes: int) -> None:
    from datetime import timedelta

    from django.utils import timezone

    attempt.refresh_from_db()
    past = timezone.now() - timedelta(minutes=minutes)
    CheckoutAttempt.objects.filter(pk=attempt.pk).update(
        submitted_at=past if attempt.submitted_at or attempt.state == State.SUBMITTING else None,
        authorized_at=past,
        updated_at=past,
    )
    attempt.refresh_from_db()
