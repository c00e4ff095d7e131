"""Recovery: finish or release attempts a shopper left after paying (the periodic sweep)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from checkout.conf import app_settings
from checkout.exceptions import (
    SpectraError,
    StripeProviderError,
)
from checkout.models import CheckoutAttempt, OrderEvent
from checkout.services import spectra
from checkout.services.orders.attempts import _fresh, _move, _release_payment
from checkout.services.orders.lookup import attempts_waiting_for, order_lookup
from checkout.services.orders.placement import _adopt, _submit, order_place
from checkout.services.orders.results import PlacementResult, State, _pending, in_flight_window
from checkout.services.orders.timeline import _event, _recorded_calls
from checkout.services.payments import (
    PaymentIntentInfo,
    payment_intent_retrieve,
)
from checkout.timeline_text import note

logger = logging.getLogger(__name__)


def attempts_to_recover(*, older_than: dt.timedelta) -> QuerySet[CheckoutAttempt]:
    """Return attempts paid or submitted longer ago than ``older_than`` (for the sweep)."""
    cutoff = timezone.now() - older_than
    return CheckoutAttempt.objects.filter(
        Q(state=State.PAYMENT_AUTHORIZED) | Q(state=State.SUBMITTING), updated_at__lt=cutoff
    ).order_by("updated_at")


def _in_flight_window() -> dt.timedelta:
    return in_flight_window()


def _waiting_for_proof(attempt: CheckoutAttempt) -> bool:
    return attempt.state == State.NEEDS_REVIEW and attempt.failure_code == "outcome_unknown"


def attempt_recover(*, attempt: CheckoutAttempt) -> PlacementResult | None:
    """Finish an attempt a shopper left after paying: adopt, place, release or hand over.

    For the periodic sweep (and staff's "recover now"). Returns None when the attempt
    needs nothing (not paid, or already settled). Order of checks: a submission still
    within its timeout is left alone; the order lookup (``lookup.order_lookup``) adopts an
    order it finds; when it can prove neither way the attempt keeps waiting, and past
    ``CHECKOUT_UNKNOWN_OUTCOME_WINDOW`` goes to staff with the evidence (hold kept);
    only with proof that no order exists is an attempt older than
    ``CHECKOUT_ATTEMPT_RELEASE_AFTER`` released, or a still-authorized card placed.
    """
    attempt = _fresh(attempt)
    if attempt.state not in (State.PAYMENT_AUTHORIZED, State.SUBMITTING) and not (
        _waiting_for_proof(attempt)
    ):
        return None
    now = timezone.now()
    if (
        attempt.state == State.SUBMITTING
        and attempt.submitted_at
        and (now - attempt.submitted_at < _in_flight_window())
    ):
        return _pending(attempt)

    if attempt.state != State.PAYMENT_AUTHORIZED:
        # Never posted while payment_authorized (the claim comes first): only a posted
        # attempt can have an order to find.
        with _recorded_calls(attempt) as client:
            try:
                found = order_lookup(attempt=attempt, client=client)
            except SpectraError:
                logger.warning("attempt %s: recovery lookup failed", attempt.public_id)
                return _pending(attempt)
        if found.verdict == "found" and found.order is not None:
            _event(
                attempt,
                OrderEvent.Kind.SYNC,
                note(gettext_noop("Recovery found the order; adopting it.")),
            )
            return _adopt(attempt, found.order)
        if found.verdict == "unknown":
            return _still_unknown(attempt, found.evidence, now=now)

    intent: PaymentIntentInfo | None = None
    if attempt.payment_intent_id:
        try:
            intent = payment_intent_retrieve(payment_intent_id=attempt.payment_intent_id)
        except StripeProviderError:
            return _pending(attempt)
        if intent.status == "succeeded":
            # Captured, yet there is no order: money taken for nothing. A person decides.
            _move(
                attempt,
                from_states=(State.PAYMENT_AUTHORIZED, State.SUBMITTING, State.NEEDS_REVIEW),
                state=State.NEEDS_REVIEW,
                failure_code="captured_without_order",
                finished_at=now,
            )
            logger.error("attempt %s: PaymentIntent captured without order", attempt.public_id)
            _event(
                attempt,
                OrderEvent.Kind.SYNC,
                note(gettext_noop("Needs review: the card was charged but Spectra has no order.")),
                payment_intent=intent.id,
            )
            return _pending(attempt)

    started = attempt.submitted_at or attempt.authorized_at or attempt.updated_at
    too_old = now - started > dt.timedelta(seconds=app_settings.ATTEMPT_RELEASE_AFTER)
    usable = intent is None or intent.requires_capture
    if too_old or not usable:
        _release_payment(attempt, reason="abandoned")
        message = _(
            "We could not place your order in time, so your card authorization was "
            "released. Please start again from your cart."
        )
        _move(
            attempt,
            from_states=(State.PAYMENT_AUTHORIZED, State.SUBMITTING, State.NEEDS_REVIEW),
            state=State.FAILED,
            finished_at=now,
            failure_code="released",
            failure_message=message,
        )
        _event(attempt, OrderEvent.Kind.SYNC, note(gettext_noop("Recovery released the attempt.")))
        return PlacementResult("rejected", None, "released", message, None)

    if attempt.state == State.PAYMENT_AUTHORIZED:
        _event(
            attempt, OrderEvent.Kind.SYNC, note(gettext_noop("Recovery is placing the paid order."))
        )
        return order_place(attempt=attempt, reload=False)
    # Stuck in submitting (or handed to staff), no order exists, the card is still
    # authorized: claim the resubmission (compare-and-set on submitted_at) so two sweeps
    # never both post.
    claimed = CheckoutAttempt.objects.filter(
        pk=attempt.pk,
        state__in=(State.SUBMITTING, State.NEEDS_REVIEW),
        submitted_at=attempt.submitted_at,
    ).update(
        state=State.SUBMITTING,
        submitted_at=now,
        updated_at=now,
        failure_code="",
        finished_at=None,
    )
    if not claimed:
        return _pending(attempt)
    attempt = _fresh(attempt)
    _event(
        attempt, OrderEvent.Kind.SYNC, note(gettext_noop("Recovery is submitting the order again."))
    )
    return _submit(attempt, may_repost=False)


def _still_unknown(
    attempt: CheckoutAttempt, evidence: dict[str, Any], *, now: dt.datetime
) -> PlacementResult:
    """No proof either way: keep waiting, or past the window hand the attempt to staff."""
    started = attempt.submitted_at or attempt.updated_at
    if attempt.state == State.NEEDS_REVIEW or (
        now - started < dt.timedelta(seconds=app_settings.UNKNOWN_OUTCOME_WINDOW)
    ):
        # Looked at now: the sweep's grace period passes before the next lookup, so one
        # waiting attempt costs a few calls every few minutes, not every minute.
        CheckoutAttempt.objects.filter(pk=attempt.pk, state=attempt.state).update(updated_at=now)
        return _pending(attempt)
    if _move(
        attempt,
        from_states=(State.SUBMITTING,),
        state=State.NEEDS_REVIEW,
        failure_code="outcome_unknown",
        finished_at=now,
    ):
        logger.error("attempt %s: order outcome still unknown; needs review", attempt.public_id)
        _event(
            attempt,
            OrderEvent.Kind.SYNC,
            note(
                gettext_noop(
                    "Needs review: Spectra's answer to the order was lost and the order list "
                    "cannot show whether it exists. The card hold is kept. Check Spectra for "
                    "the order, then recover the attempt (adopts it) or release its payment."
                )
            ),
            **evidence,
        )
    return _pending(attempt)


def attempt_adopt_order(*, remote: spectra.Order) -> PlacementResult | None:
    """Settle a waiting attempt with an order Spectra announced (``order.created``).

    For webhook processing, outside any transaction (the payment is verified with Stripe).
    None when no waiting attempt matches the order (``lookup.attempts_waiting_for``).
    """
    settled_before = timezone.now() - _in_flight_window()
    matches = attempts_waiting_for(remote, settled_before=settled_before)
    if not matches:
        return None
    attempt = matches[0]
    _event(
        attempt,
        OrderEvent.Kind.SYNC,
        note(
            gettext_noop(
                "Spectra announced order %(number)s, which matches this attempt; adopting it."
            ),
            number=remote.order_number,
        ),
        spectra_order=remote.id,
    )
    return _adopt(attempt, remote)
