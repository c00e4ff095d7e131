"""Placing the order: claim the paid attempt, check the PaymentIntent, ``POST /orders``,
and resolve an unknown outcome without ever posting twice blindly.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from checkout import signals
from checkout.conf import money
from checkout.exceptions import (
    SpectraConflict,
    SpectraError,
    SpectraPaymentRefused,
    SpectraRejection,
    SpectraUnknownOutcome,
    SpectraValidationError,
    StripeProviderError,
)
from checkout.models import CheckoutAttempt, Order, OrderEvent
from checkout.services import spectra
from checkout.services.orders.attempts import (
    _clean_address,
    _fresh,
    _move,
    _release_payment,
)
from checkout.services.orders.capture import order_payment_verify
from checkout.services.orders.lookup import OrderLookup, order_lookup
from checkout.services.orders.paying import mark_authorized
from checkout.services.orders.recording import order_record
from checkout.services.orders.results import (
    PlacementResult,
    State,
    Step,
    _pending,
    confirmation_delayed,
)
from checkout.services.orders.timeline import _event, _recorded_calls
from checkout.services.payments import (
    PaymentIntentInfo,
    decline_message,
    payment_intent_retrieve,
)
from checkout.timeline_text import note

logger = logging.getLogger(__name__)


# How long a second caller (double click, refresh, the pending page's poll) waits for the
# winner's POST /orders before answering "pending". Short: a request thread is held.
SUBMIT_WAIT_SECONDS = 3.0
SUBMIT_POLL_SECONDS = 0.1


def _result_for(attempt: CheckoutAttempt) -> PlacementResult | None:
    """Return the settled result of an attempt, or None if it can still act."""
    if attempt.state == State.PLACED:
        order = Order.objects.filter(attempt=attempt).first()
        return PlacementResult("placed", order, "placed", _("Your order is placed."), None)
    if attempt.state in (State.SUBMITTING, State.NEEDS_REVIEW):
        return _pending(attempt)
    if attempt.state == State.FAILED:
        return PlacementResult(
            "rejected",
            None,
            attempt.failure_code or "failed",
            attempt.failure_message
            or _("This checkout could not be completed. Please start again from your cart."),
            None,
        )
    return None


def _wait_for_outcome(attempt: CheckoutAttempt) -> PlacementResult:
    """Wait briefly for another caller's POST /orders to settle, then report."""
    deadline = time.monotonic() + SUBMIT_WAIT_SECONDS
    while True:
        attempt = _fresh(attempt)
        if attempt.state != State.SUBMITTING or time.monotonic() >= deadline:
            break
        time.sleep(SUBMIT_POLL_SECONDS)
    result = _result_for(attempt)
    if result is not None:
        return result
    # Back to collecting: the other caller's order was rejected.
    return _collecting_result(attempt)


def _collecting_result(attempt: CheckoutAttempt) -> PlacementResult:
    step: Step | None = "payment"
    if attempt.failure_code and attempt.failure_code in _CART_CODES:
        step = None
    return PlacementResult(
        "rejected",
        None,
        attempt.failure_code or "payment_required",
        attempt.failure_message or _("Please enter your card details to pay."),
        step,
    )


def order_place(*, attempt: CheckoutAttempt, reload: bool = True) -> PlacementResult:
    """Place the order for a paid attempt; idempotent (a second call gets the same result).

    Claims ``submitting`` in its own committed transaction (only one caller wins), then
    posts ``POST /orders`` with the PaymentIntent id as ``gateway_id``. See the module
    docstring for the outcomes. ``reload=False``: as for ``attempt_pay``.

    The PaymentIntent is checked with Stripe only when it may have changed on the
    shopper's side (back from 3-D Secure). An attempt is ``payment_authorized`` only
    once we saw its intent ``requires_capture`` for the amount due, and the API checks
    it again, authoritatively, when it captures: a cancelled or expired hold, or a
    total that grew, is refused with 402 and ``_reject`` asks for the card again.
    """
    if reload:
        attempt = _fresh(attempt)
    settled = _result_for(attempt)
    if settled is not None:
        if attempt.state != State.SUBMITTING or confirmation_delayed(attempt):
            return settled  # nobody is placing it right now: nothing to wait for
        return _wait_for_outcome(attempt)

    if attempt.state == State.COLLECTING:
        if not attempt.payment_intent_id:
            return _collecting_result(attempt)
        # Back from 3-D Secure: the card may be authorized now.
        rejection = _verify_intent(attempt)
        if rejection is not None:
            return rejection
        if not mark_authorized(
            attempt,
            note(gettext_noop("Card authorized after 3-D Secure.")),
            payment_intent=attempt.payment_intent_id,
        ):
            return order_place(attempt=attempt)

    # The claim is a conditional UPDATE; its trace is the attempt's state and ``submitted_at``, and
    # the timeline's next entry is the POST /orders call itself.
    claimed = _move(
        attempt,
        from_states=(State.PAYMENT_AUTHORIZED,),
        state=State.SUBMITTING,
        submitted_at=timezone.now(),
    )
    if not claimed:
        # Someone else is placing it (or already did): share their result.
        return _wait_for_outcome(attempt)
    logger.info("attempt %s: submitting order", attempt.public_id)
    return _submit(attempt, may_repost=True)


def order_payload(attempt: CheckoutAttempt) -> dict[str, Any]:
    """Return the ``POST /orders`` body for an attempt, as the Place an Order guide has it."""
    shipping = _clean_address(attempt.shipping_address)
    billing_address = (
        shipping if attempt.billing_same_as_shipping else _clean_address(attempt.billing_address)
    )
    rate = attempt.shipping_rate
    payment: dict[str, Any] = {"method": "stripe"}
    if attempt.payment_intent_id:
        payment["gateway_id"] = attempt.payment_intent_id
    if attempt.promo_code:
        payment["promo_code"] = attempt.promo_code
    if attempt.gift_card_code:
        payment["gift_card_code"] = attempt.gift_card_code
    return {
        "cart_id": attempt.cart_id,
        "billing": {**billing_address, "email": attempt.email, "phone": attempt.phone},
        "shipping": shipping,
        "shipping_method": {
            "method": str(rate.get("method") or "ground"),
            "carrier": str(rate.get("carrier") or ""),
            "service": str(rate.get("service") or ""),
            "cost": money(attempt.shipping_total),
        },
        "payment": payment,
    }


# Refusals whose meaning we know: the API refused before creating anything, so the hold
# can be released. Any other code (an API that grew a new one, a proxy's answer) may come
# with an order, so it is treated as an unknown outcome, never as a rejection.
KNOWN_REFUSALS = frozenset(
    {
        "bad_request",
        "invalid_json",
        "validation_error",
        "payment_not_authorized",
        "payment_amount_mismatch",
        "cart_not_found",
        "not_found",
        "cart_empty",
        "insufficient_stock",
        "invalid_shipping_method",
        "invalid_promo_code",
        "promo_code_invalid",
        "invalid_gift_card",
        "gift_card_invalid",
        "gift_card_balance",
    }
)


def _refusal_known(err: SpectraRejection) -> bool:
    # A key or scope problem is refused before the request is looked at.
    return err.status in (401, 403) or (err.code or "") in KNOWN_REFUSALS


def _submit(attempt: CheckoutAttempt, *, may_repost: bool) -> PlacementResult:
    """POST /orders for an attempt this caller has claimed (state ``submitting``)."""
    payload = order_payload(attempt)
    with _recorded_calls(attempt) as client:
        try:
            remote = client.create_order(payload)
        except SpectraRejection as err:
            if isinstance(err, SpectraConflict) and err.code == "cart_already_ordered":
                return _resolve(attempt, order_id=err.order_id, may_repost=False, cause=err)
            if isinstance(err, SpectraConflict) and err.code == "cart_locked":
                # An earlier post of ours may still be running on their side.
                return _resolve(attempt, order_id=None, may_repost=False, cause=err)
            if _refusal_known(err):
                return _reject(attempt, err)
            logger.warning(
                "attempt %s: order refused with unknown code %s %s; treated as unknown",
                attempt.public_id,
                err.status,
                err.code,
            )
            _event(
                attempt,
                OrderEvent.Kind.ATTEMPT,
                note(
                    gettext_noop(
                        "Spectra refused with a code we do not know (%(code)s); the order may "
                        "exist, so the payment is kept and the order looked up."
                    ),
                    code=err.code or err.status,
                ),
                code=err.code,
                status=err.status,
            )
            return _resolve(attempt, order_id=None, may_repost=False, cause=err)
        except SpectraError as err:
            # Unknown outcome (timeout, 5xx, dropped connection) or never sent.
            logger.warning("attempt %s: order outcome unknown (%s)", attempt.public_id, err.code)
            _event(
                attempt,
                OrderEvent.Kind.ATTEMPT,
                note(gettext_noop("The order's outcome is unknown; looking it up.")),
                code=err.code,
                status=err.status,
            )
            return _resolve(attempt, order_id=None, may_repost=may_repost, cause=err)
        # Inside the block: the call's record is written in order_record's transaction.
        return _adopt(attempt, remote)


def _may_still_run(cause: SpectraError) -> bool:
    """Whether the API may still be processing the post that failed (no answer yet)."""
    if isinstance(cause, SpectraUnknownOutcome) and cause.status is None:
        return True  # timeout or dropped connection: the request may be running there
    return cause.status == 504  # a gateway gave up waiting; the API behind it may not have


def _resolve(
    attempt: CheckoutAttempt, *, order_id: int | None, may_repost: bool, cause: SpectraError
) -> PlacementResult:
    """Find the order an unknown or conflicting post may have created; adopt or repost.

    Posting again needs proof that no order exists (``lookup.order_lookup``) and an
    API that is no longer working on the first post; otherwise the attempt waits for
    recovery (``attempt_recover``), the hold neither captured nor released.
    """
    with _recorded_calls(attempt) as client:
        try:
            if order_id is not None:
                found = OrderLookup("found", client.get_order(order_id), {"via": "conflict"})
            else:
                found = order_lookup(attempt=attempt, client=client)
        except SpectraError:
            logger.warning("attempt %s: order lookup failed; left for recovery", attempt.public_id)
            return _pending(attempt)
    if found.verdict == "found" and found.order is not None:
        return _adopt(attempt, found.order)
    if found.verdict == "unknown":
        _event(
            attempt,
            OrderEvent.Kind.ATTEMPT,
            note(
                gettext_noop(
                    "Could not prove whether the order exists; waiting for the order list or "
                    "Spectra's webhook. The payment is neither captured nor released."
                )
            ),
            **found.evidence,
        )
        return _pending(attempt)
    if isinstance(cause, SpectraRejection) or not may_repost or _may_still_run(cause):
        return _pending(attempt)
    # The lookup proved there is no order: posting again cannot make a second one.
    logger.info("attempt %s: no order found; posting again", attempt.public_id)
    _event(
        attempt,
        OrderEvent.Kind.ATTEMPT,
        note(gettext_noop("No order was created; submitting again.")),
    )
    return _submit(attempt, may_repost=False)


def _adopt(attempt: CheckoutAttempt, remote: spectra.Order) -> PlacementResult:
    """Record an order the API has for this attempt's cart, if it really is ours."""
    ours = (
        not attempt.payment_intent_id
        or not remote.payment_intent_id
        or remote.payment_intent_id == attempt.payment_intent_id
    )
    if remote.cart_id and remote.cart_id != attempt.cart_id:
        ours = False
    if not ours:
        # The cart was ordered some other way (another channel, another card).
        logger.warning(
            "attempt %s: cart already ordered as %s with another payment",
            attempt.public_id,
            remote.order_number,
        )
        _release_payment(attempt, reason="cart_already_ordered")
        ordered = note(
            gettext_noop("This cart has already been ordered (order %(number)s)."),
            number=remote.order_number,
        )
        _move(
            attempt,
            from_states=(State.SUBMITTING, State.PAYMENT_AUTHORIZED, State.NEEDS_REVIEW),
            state=State.FAILED,
            finished_at=timezone.now(),
            failure_code="cart_already_ordered",
            failure_message=str(ordered),
        )
        _event(attempt, OrderEvent.Kind.ATTEMPT, ordered, spectra_order=remote.id)
        return PlacementResult("rejected", None, "cart_already_ordered", str(ordered), None)
    order, _created = order_record(remote=remote, attempt=attempt)  # updates ``attempt``
    # Outside order_record's transaction: Stripe is called. A failure here leaves the
    # order ``pending`` capture for reconciliation; the shopper's order stands either way.
    order_payment_verify(order=order, reload=False)  # the row order_record committed
    if attempt.state != State.PLACED:
        return _pending(attempt)
    return PlacementResult("placed", order, "placed", _("Your order is placed."), None)


# 422 codes whose fix is in the cart, not in a checkout step.
_CART_CODES = frozenset({"insufficient_stock", "cart_empty", "cart_not_found", "cart_locked"})


def _rejection(err: SpectraRejection) -> tuple[str, str, Step | None]:
    """Return (code, shopper message, step to fix it) for a refusal of POST /orders."""
    code = err.code or f"http_{err.status}"
    if isinstance(err, SpectraPaymentRefused):
        if code == "payment_amount_mismatch":
            return (
                code,
                _(
                    "The order total changed since your card was authorized (for example, a "
                    "promotion ended). Please review the amount and pay again. Your card has "
                    "not been charged."
                ),
                "payment",
            )
        return (
            code,
            _(
                "Your payment could not be confirmed. Please pay again. Your card has not been "
                "charged."
            ),
            "payment",
        )
    if isinstance(err, SpectraValidationError):
        if code in _CART_CODES:
            detail = "; ".join(m for ms in err.fields.values() for m in ms)
            return (
                code,
                _(
                    "Some items in your cart are no longer available in the quantity you chose "
                    "(%(detail)s). Please update your cart. Your card has not been charged."
                )
                % {"detail": detail or err.message},
                None,
            )
        fields = list(err.fields)
        step: Step = "payment"
        if code == "invalid_shipping_method" or any(
            f.startswith("shipping_method") for f in fields
        ):
            step = "shipping"
        elif any(
            f.startswith("shipping.") or f in ("billing.email", "billing.phone") for f in fields
        ):
            step = "information"
        detail = "; ".join(m for ms in err.fields.values() for m in ms) or err.message
        return code, _("Please check your details: %(detail)s") % {"detail": detail}, step
    return (
        code,
        _(
            "We could not place your order because of a problem on our side. Your card has not "
            "been charged. Please try again in a few minutes."
        ),
        "payment",
    )


def _reject(attempt: CheckoutAttempt, err: SpectraRejection) -> PlacementResult:
    """Handle a refusal: release the hold and send the shopper back to fix it."""
    code, message, step = _rejection(err)
    log = logger.warning if err.status in (402, 409, 422) else logger.error
    log("attempt %s: order rejected %s %s", attempt.public_id, err.status, code)
    _release_payment(attempt, reason=code)
    _move(
        attempt,
        from_states=(State.SUBMITTING,),
        state=State.COLLECTING,
        payment_intent_id="",
        authorized_at=None,
        submitted_at=None,
        failure_code=code[:64],
        failure_message=message,
    )
    _event(
        attempt,
        OrderEvent.Kind.ATTEMPT,
        note(gettext_noop("Spectra refused the order: %(message)s"), message=err.message),
        status=err.status,
        code=code,
        fields=err.fields,
    )
    return PlacementResult("rejected", None, code, message, step)


def _verify_intent(attempt: CheckoutAttempt) -> PlacementResult | None:
    """Check the attempt's PaymentIntent with Stripe; return a rejection if unusable."""
    try:
        intent = payment_intent_retrieve(payment_intent_id=attempt.payment_intent_id)
    except StripeProviderError:
        logger.exception("attempt %s: PaymentIntent check failed", attempt.public_id)
        return _pending(attempt)
    problem = _intent_problem(attempt, intent)
    if problem is None:
        return None
    code, message = problem
    logger.warning("attempt %s: PaymentIntent %s unusable (%s)", attempt.public_id, intent.id, code)
    if intent.status == "requires_action":
        # 3-D Secure not completed yet: keep the intent, the page can finish it.
        return PlacementResult("rejected", None, code, message, "payment")
    if intent.status == "requires_capture":
        _release_payment(attempt, reason=code)
    _move(
        attempt,
        from_states=(State.COLLECTING, State.PAYMENT_AUTHORIZED),
        state=State.COLLECTING,
        payment_intent_id="",
        authorized_at=None,
        failure_code=code,
        failure_message=message,
    )
    if intent.status == "requires_payment_method":
        _event(
            attempt,
            OrderEvent.Kind.PAYMENT,
            note(gettext_noop("Card not authorized.")),
            payment_intent=intent.id,
        )
        signals.payment_failed.send(
            sender=CheckoutAttempt, attempt=attempt, code=code, message=message
        )
    return PlacementResult("rejected", None, code, message, "payment")


def _intent_problem(attempt: CheckoutAttempt, intent: PaymentIntentInfo) -> tuple[str, str] | None:
    if intent.status == "requires_action":
        return "authentication_required", _("Please complete the verification your bank asked for.")
    if intent.status == "requires_payment_method":
        # 3-D Secure failed (or the bank declined after it): another card is needed.
        code = intent.last_error_code or "payment_intent_authentication_failure"
        return code, decline_message(code)
    if intent.status != "requires_capture":
        return "payment_not_authorized", _(
            "Your card authorization is no longer valid. Please pay again."
        )
    if intent.amount != attempt.amount_due or intent.currency != attempt.currency.lower():
        return "payment_amount_mismatch", _(
            "The amount to pay changed. Please review your order and pay again."
        )
    if intent.metadata.get("checkout_attempt", str(attempt.public_id)) != str(attempt.public_id):
        return "payment_not_authorized", _(
            "Your card authorization is no longer valid. Please pay again."
        )
    return None
