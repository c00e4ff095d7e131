"""Paying: authorize the amount due on the card, one PaymentIntent per try, and hand out
the card-collection SetupIntent.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from checkout import signals
from checkout.exceptions import (
    CheckoutStateError,
    PaymentDeclined,
    StripeProviderError,
)
from checkout.models import CheckoutAttempt, OrderEvent
from checkout.services.orders.attempts import (
    _fresh,
    _move,
    _release_payment,
    attempt_next_step,
)
from checkout.services.orders.results import PaymentOutcome, State
from checkout.services.orders.timeline import _entry, _event, _recorded_calls
from checkout.services.payment_element import payment_intent_confirm_token
from checkout.services.payments import (
    decline_message,
    payment_intent_cancel,
    payment_intent_create,
    setup_intent_create,
    setup_intent_retrieve,
)
from checkout.services.quotes import (
    Quote,
    attempt_quote,
    quote_shown,
)
from checkout.timeline_text import Note, note

logger = logging.getLogger(__name__)


def _metadata(attempt: CheckoutAttempt) -> dict[str, str]:
    return {"checkout_attempt": str(attempt.public_id), "cart_id": attempt.cart_id}


def attempt_setup_intent_reusable(*, attempt: CheckoutAttempt) -> str | None:
    """Return the SetupIntent secret the page may use without a new Stripe object.

    "" when no card is needed (a gift card covers the amount due); the secret of the
    attempt's SetupIntent while no card has been confirmed on it; None when a new one
    is needed: the caller counts that against the pay limits first (every Stripe object
    a shopper can cause is a card check), then calls ``attempt_setup_intent_create``.
    """
    quote = quote_shown(attempt=attempt) or attempt_quote(attempt=attempt)
    if not quote.payment_required:
        return ""
    if not attempt.setup_intent_id:
        return None
    intent = setup_intent_retrieve(setup_intent_id=attempt.setup_intent_id)
    return intent.client_secret if intent.unused else None


def attempt_setup_intent_create(*, attempt: CheckoutAttempt) -> str:
    """Create the attempt's next SetupIntent, remember it, and return its client secret."""
    intent = setup_intent_create(metadata=_metadata(attempt))
    # A plain UPDATE: ``updated_at`` is part of the shown quote's fingerprint.
    CheckoutAttempt.objects.filter(pk=attempt.pk).update(setup_intent_id=intent.id)
    attempt.setup_intent_id = intent.id
    logger.info("attempt %s: SetupIntent %s created", attempt.public_id, intent.id)
    return intent.client_secret


def _authorized_outcome(attempt: CheckoutAttempt) -> PaymentOutcome:
    if attempt.payment_intent_id:
        return PaymentOutcome("authorized", attempt.payment_intent_id, None)
    return PaymentOutcome("not_required", "", None)


def attempt_pay(
    *,
    attempt: CheckoutAttempt,
    payment_method_id: str,
    reload: bool = True,
    confirmation_token_id: str = "",
) -> PaymentOutcome:
    """Authorize the amount due on the card: one new PaymentIntent per try.

    The card comes as a PaymentMethod (the Card Element flow) or, from the Payment
    Element, as a ConfirmationToken (``confirmation_token_id``); either way the
    PaymentIntent is created and confirmed here, for the amount decided here.

    Returns ``authorized`` (then call ``order_place``), ``requires_action`` (the page
    completes 3-D Secure with ``client_secret``, then calls ``order_place``) or
    ``not_required`` (a gift card covers everything: no PaymentIntent at all). Raises
    ``PaymentDeclined`` with a message the shopper can act on; another card may follow.

    A second call after the card was authorized (double click, refresh) answers with
    that authorization rather than charging again.

    The amount is the quote the shopper was shown on the payment page while it is still
    current (``quote_shown``: same cart version, same attempt, at most
    ``QUOTE_CACHE_SECONDS`` old); otherwise it is quoted afresh. Either way the API checks
    the card against its own total at ``POST /orders``. ``reload=False`` when the caller
    read the attempt in this request: every change below is a compare-and-set, so a row
    read a moment ago cannot do harm.
    """
    if reload:
        attempt = _fresh(attempt)
    if attempt.state in (State.PAYMENT_AUTHORIZED, State.SUBMITTING, State.PLACED):
        return _authorized_outcome(attempt)
    if attempt.state != State.COLLECTING:
        raise CheckoutStateError(
            _("This checkout can no longer be paid. Please start again from your cart."),
            code="attempt_closed",
        )
    if attempt_next_step(attempt) != "payment":
        raise CheckoutStateError(
            _("Please complete the earlier checkout steps first."), code="step_incomplete"
        )
    if attempt.payment_intent_id:
        # An earlier try that was waiting for 3-D Secure: never leave two live intents.
        _release_payment(attempt, reason="new_card")
        _move(attempt, from_states=(State.COLLECTING,), payment_intent_id="")

    with _recorded_calls(attempt):
        quote = quote_shown(attempt=attempt) or attempt_quote(attempt=attempt)
        # Still inside the block: the quote's API calls are written with the next
        # timeline entry (the authorization's, in its transaction), not on their own.
        return _pay_quoted(attempt, quote, payment_method_id, confirmation_token_id)


def _pay_quoted(
    attempt: CheckoutAttempt,
    quote: Quote,
    payment_method_id: str,
    confirmation_token_id: str = "",
) -> PaymentOutcome:
    """The rest of ``attempt_pay`` once the amount due is known."""
    if not quote.items:
        raise CheckoutStateError(_("Your cart is empty."), code="cart_empty")

    if not quote.payment_required:
        mark_authorized(
            attempt,
            note(gettext_noop("No card payment needed: the gift card covers the total.")),
            payment_intent_id="",
            gift_card_amount=quote.gift_card_amount,
        )
        return _authorized_outcome(_fresh(attempt))

    if not payment_method_id and not confirmation_token_id:
        raise PaymentDeclined(_("Enter your card details."), code="payment_method_required")
    # A try number of its own names this try's idempotency key.
    tries = _claim_payment_try(attempt)
    key = f"checkout-{attempt.public_id}-pi-{tries}"
    try:
        if confirmation_token_id:
            intent = payment_intent_confirm_token(
                amount=quote.amount_due,
                currency=attempt.currency,
                confirmation_token_id=confirmation_token_id,
                idempotency_key=key,
                metadata=_metadata(attempt),
            )
        else:
            intent = payment_intent_create(
                amount=quote.amount_due,
                currency=attempt.currency,
                payment_method_id=payment_method_id,
                idempotency_key=key,
                metadata=_metadata(attempt),
            )
    except PaymentDeclined as err:
        _payment_failed(
            attempt, code=err.decline_code or err.code, message=err.message, tries=tries
        )
        raise
    except StripeProviderError:
        logger.exception(
            "attempt %s: PaymentIntent create failed (try %s)", attempt.public_id, tries
        )
        _event(
            attempt,
            OrderEvent.Kind.PAYMENT,
            note(gettext_noop("Stripe could not be reached.")),
            tries=tries,
        )
        raise

    if intent.requires_capture:
        moved = mark_authorized(
            attempt,
            note(gettext_noop("Card authorized.")),
            payment_intent_id=intent.id,
            payment_intent=intent.id,
            amount=intent.amount,
            tries=tries,
        )
        if moved:
            return PaymentOutcome("authorized", intent.id, intent.client_secret)
        # A concurrent try won (double click): keep theirs, release ours.
        payment_intent_cancel(payment_intent_id=intent.id)
        return _authorized_outcome(attempt)

    if intent.requires_action:
        _move(attempt, from_states=(State.COLLECTING,), payment_intent_id=intent.id)
        _event(
            attempt,
            OrderEvent.Kind.PAYMENT,
            note(gettext_noop("The bank asked for 3-D Secure authentication.")),
            payment_intent=intent.id,
            tries=tries,
        )
        return PaymentOutcome("requires_action", intent.id, intent.client_secret)

    code = intent.last_error_code or "card_declined"
    message = decline_message(code)
    _payment_failed(attempt, code=code, message=message, tries=tries, payment_intent=intent.id)
    raise PaymentDeclined(message, code=code)


def mark_authorized(
    attempt: CheckoutAttempt, message: Note, *, payment_intent_id: str | None = None, **data: Any
) -> bool:
    """Move a collecting attempt to ``payment_authorized`` with ``message`` on its
    timeline (``data`` with it); ``payment_intent_id`` replaces the attempt's when given.
    False when another request moved the attempt first."""
    changes: dict[str, Any] = {"authorized_at": timezone.now(), "failure_code": ""}
    if payment_intent_id is not None:
        changes["payment_intent_id"] = payment_intent_id
    return _move(
        attempt,
        from_states=(State.COLLECTING,),
        record=_entry(attempt, OrderEvent.Kind.PAYMENT, message, **data),
        state=State.PAYMENT_AUTHORIZED,
        failure_message="",
        **changes,
    )


def _claim_payment_try(attempt: CheckoutAttempt) -> int:
    """Count one more payment try on the attempt and return the new count.

    A compare-and-set from the count this instance holds: one UPDATE, no transaction.
    When another request counted a try since (a double click, or this instance was read
    before it), the row's count is read and the next number claimed, so two tries never
    share a number, nor an idempotency key.

    ``updated_at`` is left as it is: it is part of the fingerprint of the quote the
    payment page showed (``quote_shown``), and a try changes nothing else.
    """
    seen = attempt.payment_tries
    while not CheckoutAttempt.objects.filter(pk=attempt.pk, payment_tries=seen).update(
        payment_tries=seen + 1
    ):
        try:
            seen = CheckoutAttempt.objects.values_list("payment_tries", flat=True).get(
                pk=attempt.pk
            )
        except CheckoutAttempt.DoesNotExist:
            raise CheckoutAttempt.DoesNotExist(f"attempt {attempt.pk} is gone") from None
    attempt.payment_tries = seen + 1
    return seen + 1


def _payment_failed(attempt: CheckoutAttempt, *, code: str, message: str, **data: Any) -> None:
    _move(
        attempt,
        from_states=(State.COLLECTING,),
        payment_intent_id="",
        failure_code=code[:64],
        failure_message=message,
    )
    logger.info("attempt %s: payment failed (%s)", attempt.public_id, code)
    _event(
        attempt, OrderEvent.Kind.PAYMENT, note(gettext_noop("Card declined.")), code=code, **data
    )
    signals.payment_failed.send(sender=CheckoutAttempt, attempt=attempt, code=code, message=message)
