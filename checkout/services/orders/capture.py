"""Capture: after an order exists, make sure the card hold behind it became money.

The docs do not say whether Spectra captures the PaymentIntent it is given as
``gateway_id`` (our sandbox does; the documented contract only records it). So whoever
``CHECKOUT_CAPTURE_BY`` names ("api" or "app"), the app reads the PaymentIntent once the
order exists: captured is recorded; a hold still standing is captured for the order's
``amount_charged`` (with "api" that means Spectra did not, which the timeline says);
a hold that is gone (cancelled, expired) leaves the order unpaid, flagged for staff.
Stripe unreachable leaves the order ``pending``: reconciliation tries again, long before
a hold could lapse (about 7 days). ``order_payment_verify`` is idempotent and safe to
run from placement, reconciliation and staff at once (the capture's idempotency key is
the order's).
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from checkout.conf import app_settings
from checkout.exceptions import StripeProviderError
from checkout.models import Order, OrderEvent
from checkout.services.payments import (
    PaymentIntentInfo,
    payment_intent_capture,
    payment_intent_retrieve,
)
from checkout.timeline_text import Amount, Note, note

logger = logging.getLogger(__name__)

Capture = Order.Capture
SETTLED = (Capture.CAPTURED, Capture.NOT_REQUIRED)
ZERO = Decimal("0.00")


def order_payment_intent_id(order: Order) -> str:
    """The PaymentIntent behind an order: the API's ``gateway_id``, else its attempt's."""
    if order.payment_intent_id:
        return order.payment_intent_id
    attempt = order.attempt
    return attempt.payment_intent_id if attempt is not None else ""


def _save(
    order: Order,
    state: str,
    message: Note,
    *,
    captured: Decimal | None,
    before: OrderEvent | None = None,
    **data: object,
) -> str:
    """Move the order to ``state`` with its timeline entry (and ``before``, an entry that
    explains it), in one transaction; return the state the order is in."""
    now = timezone.now()
    fields: dict[str, object] = {"capture_state": state, "payment_checked_at": now}
    if captured is not None:
        fields["captured_amount"] = captured
    with transaction.atomic():
        # Conditional: when placement, reconciliation and staff verify at once, the state
        # (and its timeline entry) is written once.
        moved = (
            Order.objects.filter(pk=order.pk)
            .exclude(capture_state=state)
            .update(**fields, updated_at=now)
        )
        if moved:
            entry = OrderEvent(
                order=order,
                attempt_id=order.attempt_id,
                kind=OrderEvent.Kind.PAYMENT,
                data={"capture_state": state, **{k: str(v) for k, v in data.items()}},
                **message.fields(),
            )
            OrderEvent.objects.bulk_create([before, entry] if before else [entry])
        else:
            Order.objects.filter(pk=order.pk).update(payment_checked_at=now)
            order.refresh_from_db(fields=["capture_state", "captured_amount"])
            return order.capture_state
    for name, value in fields.items():
        setattr(order, name, value)
    return state


def _checked(order: Order) -> None:
    now = timezone.now()
    Order.objects.filter(pk=order.pk).update(payment_checked_at=now)
    order.payment_checked_at = now


def order_payment_verify(*, order: Order, reload: bool = True) -> str:
    """Verify (and if needed capture) the payment of ``order``; return its capture state.

    ``pending`` means it could not be decided now (Stripe unreachable, or the intent is
    still processing): reconciliation calls this again. ``reload=False`` when ``order``
    is the row just committed (placement), so it is not read again.
    """
    if reload:
        order.refresh_from_db()
    if order.capture_state in SETTLED:
        return order.capture_state
    if order.attempt_id is None:
        # Placed elsewhere (CHECKOUT_ADOPT_UNKNOWN_ORDERS): its payment is not ours.
        return _save(
            order,
            Capture.NOT_REQUIRED,
            note(gettext_noop("Placed outside this checkout: its payment is not captured here.")),
            captured=ZERO,
        )
    pi_id = order_payment_intent_id(order)
    if not pi_id:
        if order.amount_charged <= ZERO:
            # A gift card paid it all.
            return _save(
                order,
                Capture.NOT_REQUIRED,
                note(gettext_noop("No card payment to capture for this order.")),
                captured=ZERO,
            )
        return _save(
            order,
            Capture.FAILED,
            note(
                gettext_noop(
                    "Needs attention: the order was charged to a card, but no payment is on record."
                )
            ),
            captured=None,
        )
    try:
        intent = payment_intent_retrieve(payment_intent_id=pi_id)
    except StripeProviderError:
        logger.warning("order %s: payment check failed; retried later", order.order_number)
        _checked(order)
        return Capture.PENDING
    return _settle(order, intent)


def _settle(order: Order, intent: PaymentIntentInfo) -> str:
    by_api = app_settings.CAPTURE_BY != "app"
    if intent.captured:
        msgid = (
            gettext_noop("Payment verified: Spectra captured %(amount)s.")
            if by_api
            else gettext_noop("Payment verified: %(amount)s captured.")
        )
        return _save(
            order,
            Capture.CAPTURED,
            note(msgid, amount=Amount(intent.received, intent.currency)),
            captured=intent.received,
            payment_intent=intent.id,
        )
    if intent.requires_capture:
        return _capture(order, intent, by_api=by_api)
    if intent.status == "processing":
        _checked(order)
        return Capture.PENDING
    # canceled, requires_payment_method...: the hold is gone and nothing was taken.
    logger.error(
        "order %s: PaymentIntent %s is %s; the order is not paid",
        order.order_number,
        intent.id,
        intent.status,
    )
    return _save(
        order,
        Capture.FAILED,
        note(
            gettext_noop(
                "Needs attention: the card hold is gone (Stripe says %(status)s) and nothing "
                "was captured; the order is not paid."
            ),
            status=intent.status,
        ),
        captured=ZERO,
        payment_intent=intent.id,
        status=intent.status,
    )


def _capture(order: Order, intent: PaymentIntentInfo, *, by_api: bool) -> str:
    # Never more than the hold: a larger amount_charged is already flagged at placement.
    amount = min(order.amount_charged, intent.amount)
    # Written with the capture's own entry (one commit), or alone if the capture fails.
    why = (
        OrderEvent(
            order=order,
            attempt_id=order.attempt_id,
            kind=OrderEvent.Kind.PAYMENT,
            **note(
                gettext_noop("Spectra did not capture the payment; the app captures it now.")
            ).fields(),
            data={"payment_intent": intent.id},
        )
        if by_api
        else None
    )
    try:
        captured = payment_intent_capture(
            payment_intent_id=intent.id,
            amount=amount,
            currency=intent.currency,
            idempotency_key=f"checkout-order-{order.pk}-capture",
        )
    except StripeProviderError as err:
        if why is not None:
            why.save()
        try:
            now = payment_intent_retrieve(payment_intent_id=intent.id)
        except StripeProviderError:
            now = None
        if now is not None and not now.requires_capture and not now.captured:
            return _settle(order, now)  # the hold is gone: flagged
        logger.warning("order %s: capture failed (%s); retried later", order.order_number, err)
        _checked(order)
        return Capture.PENDING
    if not captured.captured:
        if why is not None:
            why.save()
        return _settle(order, captured)
    return _save(
        order,
        Capture.CAPTURED,
        note(gettext_noop("Payment captured: %(amount)s."), amount=Amount(amount, intent.currency)),
        captured=amount,
        before=why,
        payment_intent=intent.id,
    )


def orders_to_verify(*, limit: int) -> list[int]:
    """Ids of orders whose payment is not settled, least recently checked first."""
    return list(
        Order.objects.filter(capture_state=Capture.PENDING)
        .order_by(F("payment_checked_at").asc(nulls_first=True), "id")
        .values_list("pk", flat=True)[:limit]
    )
