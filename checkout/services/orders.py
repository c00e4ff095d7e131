"""Placing an order: the state machine of one checkout attempt, from details to an order.

States (``CheckoutAttempt.State``)::

    collecting --pay--> payment_authorized --claim--> submitting --> placed
        ^                      |                          |   \\--> needs_review (contradiction)
        '---- edit / rejected -'--------------------------'   \\--> failed (cart unusable, released)

Rules this module keeps:

- No network call inside ``transaction.atomic``. State changes are short transactions
  of their own; the one that matters is the compare-and-set ``payment_authorized ->
  submitting`` (an UPDATE with the old state in its WHERE): exactly one caller wins it
  and only the winner posts ``POST /orders``. Everyone else (a second click, a refresh,
  a second tab, the sweep) waits briefly for the outcome or answers "pending".
- The PaymentIntent is checked with Stripe before posting (``requires_capture`` and the
  amount we asked for), never on the browser's word.
- ``POST /orders`` is never re-sent blindly. An unknown outcome (timeout, 5xx, dropped
  connection) is resolved by the 409 answer or ``GET /orders?cart_id=``: an order found
  is adopted; only when the lookup proved there is none is the post repeated, once.
  Still unknown: the attempt stays ``submitting`` for ``attempt_recover``.
- At most one local ``Order`` per attempt (a OneToOne constraint) and per Spectra id
  (unique), so whichever of placement, recovery and the webhook sync records an order
  first, the others land on the same row.
- Every step is on the attempt's timeline (``OrderEvent``), including each API call
  made for it (method, path, status, duration); the rows move to the order once placed.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from checkout import signals
from checkout.conf import app_settings, money
from checkout.exceptions import (
    CheckoutStateError,
    PaymentDeclined,
    ProviderError,
    ShopperError,
    SpectraConflict,
    SpectraError,
    SpectraNotFound,
    SpectraPaymentRefused,
    SpectraRejection,
    SpectraTransientError,
    SpectraValidationError,
    StripeProviderError,
)
from checkout.models import CheckoutAttempt, Order, OrderEvent
from checkout.services import spectra
from checkout.services.notifications import email_schedule
from checkout.services.payments import (
    PaymentIntentInfo,
    decline_message,
    payment_intent_cancel,
    payment_intent_create,
    payment_intent_retrieve,
    setup_intent_create,
    setup_intent_retrieve,
)
from checkout.services.quotes import (
    Quote,
    api_address,
    attempt_fingerprint,
    attempt_quote,
    gift_card_validate,
    promo_validate,
    quote_cache_get,
    quote_cache_set,
    quote_shown,
    rate_to_dict,
)
from checkout.services.spectra import CallRecord, ShippingRate, get_spectra_client

logger = logging.getLogger(__name__)

__all__ = [
    "PaymentOutcome",
    "PlacementResult",
    "Quote",
    "attempt_apply_gift_card",
    "attempt_apply_promo",
    "attempt_choose_shipping",
    "attempt_fingerprint",
    "attempt_for_cart",
    "attempt_next_step",
    "attempt_pay",
    "attempt_quote",
    "attempt_recover",
    "attempt_remove_gift_card",
    "attempt_remove_promo",
    "attempt_save_information",
    "attempt_set_billing",
    "attempt_setup_intent_create",
    "attempt_setup_intent_reusable",
    "attempt_shipping_rates",
    "attempts_to_recover",
    "checkout_snapshot",
    "order_fields_from_remote",
    "order_place",
    "order_record",
]

State = CheckoutAttempt.State
Step = Literal["information", "shipping", "payment"]

ZERO = Decimal("0.00")

# How long a second caller (double click, refresh, the pending page's poll) waits for the
# winner's POST /orders before answering "pending". Short: a request thread is held.
SUBMIT_WAIT_SECONDS = 3.0
SUBMIT_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class PaymentOutcome:
    """What the payment step did: authorized, needs 3-D Secure, or nothing to charge."""

    status: Literal["authorized", "requires_action", "not_required"]
    payment_intent_id: str
    client_secret: str | None


@dataclass(frozen=True)
class PlacementResult:
    """What placing the order came to; ``message`` is safe to show the shopper.

    ``step`` names the checkout step where the shopper can fix a rejection; ``None``
    with ``rejected`` means the cart itself must change (e.g. an item sold out).
    """

    status: Literal["placed", "rejected", "pending"]
    order: Order | None
    code: str
    message: str
    step: Step | None


# --- Timeline --------------------------------------------------------------------------


def _event(
    attempt: CheckoutAttempt,
    kind: str,
    message: str,
    *,
    order: Order | None = None,
    **data: Any,
) -> None:
    # The API calls that led here come first on the timeline, in the same INSERT.
    _flush_calls(then=[_entry(attempt, kind, message, order=order, **data)])


def _entry(
    attempt: CheckoutAttempt, kind: str, message: str, *, order: Order | None = None, **data: Any
) -> OrderEvent:
    """An (unsaved) timeline entry of the attempt."""
    return OrderEvent(
        attempt=attempt, order=order, kind=kind, message=message, data=_jsonable(data)
    )


def _jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON types (Decimal and datetimes as strings)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


_observed_attempt: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "checkout_observed_attempt", default=None
)
# API calls recorded but not yet written: they are written with the next timeline entry
# (often in its transaction) or when the recording block ends, so a call costs no commit.
_pending_calls: contextvars.ContextVar[list[OrderEvent] | None] = contextvars.ContextVar(
    "checkout_pending_calls", default=None
)


def _flush_calls(*, order: Order | None = None, then: Sequence[OrderEvent] = ()) -> None:
    """Write the recorded API calls not written yet (on ``order``'s timeline too, if given),
    and the entries ``then``, in one INSERT."""
    pending = _pending_calls.get()
    batch = list(pending or ())
    if pending:
        pending.clear()
    if order is not None:
        for event in batch:
            event.order = order
    batch += then
    if batch:
        OrderEvent.objects.bulk_create(batch)


@contextmanager
def _recorded_calls(attempt: CheckoutAttempt) -> Iterator[spectra.SpectraClient]:
    """Yield the Spectra client; every call inside is recorded on the attempt's timeline.

    Re-entrant: a nested block for the same attempt records each call once. Records are
    written in one INSERT with the next timeline entry, or when the block ends.
    """
    client = get_spectra_client()
    if _observed_attempt.get() == attempt.pk:
        yield client
        return

    recorded: list[OrderEvent] = []

    def record(call: CallRecord) -> None:
        recorded.append(
            OrderEvent(
                attempt=attempt,
                kind=OrderEvent.Kind.API_CALL,
                message=f"{call.method} {call.path} → {call.status or call.error_code}",
                data={
                    "method": call.method,
                    "path": call.path,
                    "status": call.status,
                    "duration_ms": round(call.duration_ms, 1),
                    "error_code": call.error_code,
                    "attempt": call.attempt,
                    "ok": call.ok,
                },
            )
        )

    token = _observed_attempt.set(attempt.pk)
    pending_token = _pending_calls.set(recorded)
    try:
        with client.observe(record):
            yield client
    finally:
        try:
            _flush_calls()
        except Exception:
            # Bookkeeping must never hide what happened (or turn success into failure).
            logger.exception("attempt %s: could not record its API calls", attempt.public_id)
        finally:
            _pending_calls.reset(pending_token)
            _observed_attempt.reset(token)


# --- State helpers ---------------------------------------------------------------------


def _fresh(attempt: CheckoutAttempt) -> CheckoutAttempt:
    attempt.refresh_from_db()
    return attempt


def _move(
    attempt: CheckoutAttempt,
    *,
    from_states: tuple[str, ...],
    record: OrderEvent | None = None,
    **changes: Any,
) -> bool:
    """Compare-and-set: apply ``changes`` only if the attempt is in one of ``from_states``.

    A conditional UPDATE: the database decides who wins a race. ``record``: the timeline
    entry of a won move, written in the same transaction after the API calls recorded so
    far; a lost move writes nothing.
    """
    changes.setdefault("updated_at", timezone.now())
    with transaction.atomic():
        moved = bool(
            CheckoutAttempt.objects.filter(pk=attempt.pk, state__in=from_states).update(**changes)
        )
        if moved and record is not None:
            _flush_calls(then=[record])
    if moved:
        # The move won: the row now holds our changes (no re-read). A lost move re-reads
        # so the caller sees the winner's state.
        for name, value in changes.items():
            setattr(attempt, name, value)
    else:
        attempt.refresh_from_db()
    return bool(moved)


def _claim(
    changes: dict[str, Any], *, public_id: uuid.UUID, **filters: Any
) -> CheckoutAttempt | None:
    """Compare-and-set the attempt ``public_id`` if it matches ``filters``, then read it.

    The UPDATE and the read share a transaction, so the row read is the one this call
    claimed (its lock is held until the read); None when nothing matched.
    """
    with transaction.atomic():
        if not CheckoutAttempt.objects.filter(public_id=public_id, **filters).update(**changes):
            return None
        return CheckoutAttempt.objects.get(public_id=public_id)


def _release_payment(attempt: CheckoutAttempt, *, reason: str) -> None:
    """Cancel the attempt's PaymentIntent (best effort) so the hold is released."""
    pi_id = attempt.payment_intent_id
    if not pi_id:
        return
    try:
        intent = payment_intent_cancel(payment_intent_id=pi_id)
    except StripeProviderError:
        # The hold lapses on its own after some days; staff see this on the timeline.
        logger.exception("attempt %s: could not release PaymentIntent %s", attempt.public_id, pi_id)
        _event(
            attempt,
            OrderEvent.Kind.PAYMENT,
            _("Could not release the card authorization; it will lapse on its own."),
            payment_intent=pi_id,
            reason=reason,
        )
        return
    logger.info("attempt %s: PaymentIntent %s released (%s)", attempt.public_id, pi_id, reason)
    _event(
        attempt,
        OrderEvent.Kind.PAYMENT,
        _("Card authorization released."),
        payment_intent=pi_id,
        status=intent.status,
        reason=reason,
    )


def _editable(attempt: CheckoutAttempt) -> CheckoutAttempt:
    """Return the attempt ready for a change of details; release any authorization.

    Changing an address, the shipping method or a code changes the amount due, so an
    authorization for the old amount is cancelled and the attempt collects again.
    """
    attempt = _fresh(attempt)
    if attempt.state not in (State.COLLECTING, State.PAYMENT_AUTHORIZED):
        raise CheckoutStateError(
            _("Your order is already being placed; it can no longer be changed."),
            code="attempt_closed",
        )
    if attempt.payment_intent_id or attempt.state == State.PAYMENT_AUTHORIZED:
        _release_payment(attempt, reason="details_changed")
        if not _move(
            attempt,
            from_states=(State.COLLECTING, State.PAYMENT_AUTHORIZED),
            state=State.COLLECTING,
            payment_intent_id="",
            authorized_at=None,
        ):
            raise CheckoutStateError(
                _("Your order is already being placed; it can no longer be changed."),
                code="attempt_closed",
            )
    return attempt


# --- The attempt and its steps ---------------------------------------------------------


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def attempt_in_session(*, public_id: Any, owner: str) -> CheckoutAttempt | None:
    """Return the attempt ``public_id`` if ``owner`` (``cart.session_owner``) owns it."""
    uid = _as_uuid(public_id)
    if uid is None or not owner:
        return None
    return CheckoutAttempt.objects.filter(public_id=uid, owner=owner).first()


def attempt_for_cart(*, cart_id: str, owner: str) -> CheckoutAttempt | None:
    """Return ``owner``'s attempt for the cart: the open one, or a new one (race-safe).

    If the cart already became an order through this owner's attempt, the placed attempt
    is returned (its state is ``placed``): ``order_place`` on it answers with that order.
    None when another session owns the cart's open (or placed) attempt: a session that
    merely holds the same cart id must never read or change someone else's details.
    """
    if not owner:
        return None
    open_attempts = CheckoutAttempt.objects.filter(
        cart_id=cart_id, state__in=CheckoutAttempt.OPEN_STATES
    )
    attempt = open_attempts.order_by("id").first()
    if attempt is not None:
        return attempt if attempt.owner == owner else None
    done = (
        CheckoutAttempt.objects.filter(
            cart_id=cart_id, state__in=(State.PLACED, State.NEEDS_REVIEW)
        )
        .order_by("-created_at")
        .first()
    )
    if done is not None:
        return done if done.owner == owner else None
    try:
        with transaction.atomic():
            attempt = CheckoutAttempt.objects.create(cart_id=cart_id, owner=owner)
    except IntegrityError:
        # Another request created it first (the one-open-attempt-per-cart constraint).
        attempt = open_attempts.get()
        return attempt if attempt.owner == owner else None
    logger.info("attempt %s: started for cart %s", attempt.public_id, cart_id)
    _event(attempt, OrderEvent.Kind.ATTEMPT, _("Checkout started."), cart_id=cart_id)
    return attempt


@dataclass(frozen=True)
class CheckoutSnapshot:
    """What a checkout step needs: the attempt, its quote and (if fetched) the rates.

    ``status``: "ok", or "gone" (the API does not know the cart), "locked" (an order was
    placed from it), "empty", "taken" (another session owns the cart's checkout).
    ``quote`` is None when it could not be computed; ``error`` then says why (a
    ShopperError or ProviderError to show the shopper).
    """

    status: Literal["ok", "gone", "locked", "empty", "taken"]
    attempt: CheckoutAttempt | None
    quote: Quote | None
    rates: tuple[ShippingRate, ...] | None
    item_count: int
    error: Exception | None = None
    token: str = ""  # names the cart version and quote computation ("" when not cached)
    cached: bool = False  # served from the quote cache
    peeked: dict[str, Any] = field(default_factory=dict)  # the ``peek`` keys' cached values


def checkout_snapshot(
    *,
    cart_id: str,
    owner: str,
    with_rates: bool,
    with_quote: bool = True,
    peek: Sequence[str] = (),
) -> CheckoutSnapshot:
    """Return the cart's open attempt with its quote, from the quote cache when unchanged.

    No API call when the cached quote is for this cart version and this attempt as it is
    now (see ``checkout.services.quotes``); otherwise one cart fetch, the rates (when the
    attempt has an address and ``with_rates`` or a chosen rate), tax and codes, each
    fetched once. ``with_quote=False`` (a form POST that redirects): when the cart did
    not change since the last quote (its version), that is proof enough that it exists
    and is not empty, whatever the attempt became; ``quote`` is then None. Raises
    ``ProviderError`` only when the cart itself cannot be fetched.
    """
    peeked: dict[str, Any] = {}
    token, cached = quote_cache_get(cart_id=cart_id, also=peek, found=peeked)
    attempt: CheckoutAttempt | None = None
    if cached is not None:
        attempt = attempt_for_cart(cart_id=cart_id, owner=owner)
        if attempt is None:
            return CheckoutSnapshot("taken", None, None, None, 0)
        if not with_quote:
            return CheckoutSnapshot("ok", attempt, None, None, cached.item_count)
        if cached.fingerprint == attempt_fingerprint(attempt) and (
            cached.rates is not None or not with_rates or not attempt.shipping_address
        ):
            return CheckoutSnapshot(
                "ok",
                attempt,
                cached.quote,
                cached.rates,
                cached.item_count,
                token=f"{token}:{cached.stamp}",
                cached=True,
                peeked=peeked,
            )
    client = get_spectra_client()
    try:
        cart = client.get_cart(cart_id)
    except SpectraNotFound:
        return CheckoutSnapshot("gone", None, None, None, 0)
    if cart.locked:
        return CheckoutSnapshot("locked", None, None, None, 0)
    if cart.is_empty:
        return CheckoutSnapshot("empty", None, None, None, 0)
    if attempt is None:
        attempt = attempt_for_cart(cart_id=cart_id, owner=owner)
        if attempt is None:
            return CheckoutSnapshot("taken", None, None, None, 0)
    rates: tuple[ShippingRate, ...] | None = None
    try:
        priced: tuple[ShippingRate, ...] | None = None
        if attempt.shipping_address and (with_rates or attempt.shipping_rate):
            try:
                rates = priced = tuple(
                    client.get_shipping_rates(
                        cart_id, address=api_address(attempt.shipping_address)
                    )
                )
            except SpectraValidationError:
                priced = ()  # an address the API no longer takes: no rate to charge
        quote = attempt_quote(attempt=attempt, cart=cart, rates=priced)
    except (ShopperError, ProviderError) as err:
        return CheckoutSnapshot("ok", attempt, None, rates, cart.item_count, err)
    stamp = quote_cache_set(
        cart_id=cart_id,
        token=token,
        attempt=attempt,
        quote=quote,
        rates=rates,
        item_count=cart.item_count,
    )
    return CheckoutSnapshot(
        "ok", attempt, quote, rates, cart.item_count, token=f"{token}:{stamp}" if stamp else ""
    )


def attempt_next_step(attempt: CheckoutAttempt) -> Step:
    """Return the furthest step the shopper may open ("information", "shipping", "payment")."""
    if not attempt.email or not attempt.shipping_address:
        return "information"
    if not attempt.shipping_rate:
        return "shipping"
    return "payment"


def _clean_address(address: dict[str, Any]) -> dict[str, Any]:
    cleaned = {k: str(v).strip() for k, v in api_address(address).items()}
    cleaned["state"] = cleaned["state"].upper()
    cleaned["country"] = (cleaned["country"] or "US").upper()
    return cleaned


def attempt_save_information(
    *, attempt: CheckoutAttempt, email: str, phone: str, shipping_address: dict[str, Any]
) -> CheckoutAttempt:
    """Store the contact details and shipping address (step 1).

    A changed address clears the chosen shipping rate: its price depends on the address.
    """
    address = _clean_address(shipping_address)
    if (
        attempt.state in (State.COLLECTING, State.PAYMENT_AUTHORIZED)
        and attempt.email == email.strip()
        and attempt.phone == phone.strip()
        and attempt.shipping_address == address
    ):
        # Unchanged (a resubmitted form): no write, and a card hold stays. Checked on the
        # caller's instance: nothing is written, so a change made meanwhile stands.
        return attempt
    if attempt.state == State.COLLECTING and not attempt.payment_intent_id:
        # The common case, no card hold to release: one compare-and-set UPDATE that only
        # applies while the attempt is still collecting without a PaymentIntent.
        changes: dict[str, Any] = {
            "email": email.strip(),
            "phone": phone.strip(),
            "shipping_address": address,
            "updated_at": timezone.now(),
        }
        if address != attempt.shipping_address:
            changes["shipping_rate"] = {}
        if CheckoutAttempt.objects.filter(
            pk=attempt.pk, state=State.COLLECTING, payment_intent_id=""
        ).update(**changes):
            for name, value in changes.items():
                setattr(attempt, name, value)
            return attempt
    attempt = _editable(attempt)
    attempt.email = email.strip()
    attempt.phone = phone.strip()
    if address != attempt.shipping_address:
        attempt.shipping_rate = {}
    attempt.shipping_address = address
    attempt.save(
        update_fields=["email", "phone", "shipping_address", "shipping_rate", "updated_at"]
    )
    return attempt


def attempt_shipping_rates(*, attempt: CheckoutAttempt) -> list[ShippingRate]:
    """Return the API's shipping options for the cart and the saved address."""
    if not attempt.shipping_address:
        raise CheckoutStateError(_("Enter your shipping address first."), code="no_address")
    return get_spectra_client().get_shipping_rates(
        attempt.cart_id, address=api_address(attempt.shipping_address)
    )


def attempt_choose_shipping(*, attempt: CheckoutAttempt, service_code: str) -> CheckoutAttempt:
    """Store the chosen shipping rate, priced by the API (never by the browser)."""
    rates = attempt_shipping_rates(attempt=attempt)
    rate = next((r for r in rates if r.service_code == service_code), None)
    if rate is None:
        raise CheckoutStateError(
            _("This shipping option is not available for your address. Choose another one."),
            code="shipping_unavailable",
            field="service_code",
        )
    attempt = _editable(attempt)
    attempt.shipping_rate = rate_to_dict(rate)
    attempt.save(update_fields=["shipping_rate", "updated_at"])
    return attempt


def attempt_set_billing(
    *,
    attempt: CheckoutAttempt,
    same_as_shipping: bool,
    billing_address: dict[str, Any] | None,
) -> CheckoutAttempt:
    """Store the billing address (or that it is the shipping address)."""
    if not same_as_shipping and not billing_address:
        raise CheckoutStateError(_("Enter your billing address."), code="no_billing_address")
    attempt = _fresh(attempt)
    new_billing = {} if same_as_shipping else _clean_address(billing_address or {})
    if (
        attempt.billing_same_as_shipping == same_as_shipping
        and attempt.billing_address == new_billing
    ):
        return attempt  # unchanged: keep an authorization that is still good
    attempt = _editable(attempt)
    attempt.billing_same_as_shipping = same_as_shipping
    attempt.billing_address = new_billing
    attempt.save(update_fields=["billing_same_as_shipping", "billing_address", "updated_at"])
    return attempt


def attempt_apply_promo(*, attempt: CheckoutAttempt, code: str) -> Quote:
    """Apply a promo code after the API accepted it; raise ``InvalidPromoCode`` if not."""
    normalized = promo_validate(attempt=attempt, code=code)
    attempt = _editable(attempt)
    attempt.promo_code = normalized
    attempt.save(update_fields=["promo_code", "updated_at"])
    _event(attempt, OrderEvent.Kind.ATTEMPT, _("Promo code applied."), promo_code=normalized)
    return attempt_quote(attempt=attempt)


def attempt_remove_promo(*, attempt: CheckoutAttempt) -> Quote:
    """Remove the promo code."""
    attempt = _editable(attempt)
    if attempt.promo_code:
        attempt.promo_code = ""
        attempt.save(update_fields=["promo_code", "updated_at"])
    return attempt_quote(attempt=attempt)


def attempt_apply_gift_card(*, attempt: CheckoutAttempt, code: str) -> Quote:
    """Apply a gift card with a usable balance; raise ``InvalidGiftCard`` if it has none."""
    normalized = gift_card_validate(code=code)
    attempt = _editable(attempt)
    attempt.gift_card_code = normalized
    attempt.save(update_fields=["gift_card_code", "updated_at"])
    # Only the last four characters: the code is as good as cash.
    _event(attempt, OrderEvent.Kind.ATTEMPT, _("Gift card applied."), gift_card=normalized[-4:])
    return attempt_quote(attempt=attempt)


def attempt_remove_gift_card(*, attempt: CheckoutAttempt) -> Quote:
    """Remove the gift card."""
    attempt = _editable(attempt)
    if attempt.gift_card_code:
        attempt.gift_card_code = ""
        attempt.save(update_fields=["gift_card_code", "updated_at"])
    return attempt_quote(attempt=attempt)


# --- Payment ---------------------------------------------------------------------------


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


def attempt_claim_payment_try(
    *, public_id: Any, owner: str, payment_method_id: str
) -> CheckoutAttempt | None:
    """Claim this session's next payment try and read the attempt, in one UPDATE.

    The usual click on "Pay" finds the attempt ``collecting`` with a card entered: then
    ``UPDATE ... SET payment_tries = payment_tries + 1 ... RETURNING`` is both the read
    and the try's claim (the try number names the PaymentIntent's idempotency key). Pass
    the attempt to ``attempt_pay(..., try_claimed=True)``. None in any other case (no
    card, not this session's, another state): read the attempt and call ``attempt_pay``.
    """
    uid = _as_uuid(public_id)
    if uid is None or not owner or not payment_method_id:
        return None
    # ``updated_at`` is left as it is: it is part of the fingerprint of the quote the
    # payment page showed (``quote_shown``), and the try itself changes nothing else.
    return _claim(
        {"payment_tries": F("payment_tries") + 1},
        public_id=uid,
        owner=owner,
        state=State.COLLECTING,
    )


def attempt_pay(
    *,
    attempt: CheckoutAttempt,
    payment_method_id: str,
    reload: bool = True,
    try_claimed: bool = False,
) -> PaymentOutcome:
    """Authorize the amount due on the card: one new PaymentIntent per try.

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
    read a moment ago cannot do harm. ``try_claimed``: the attempt comes from
    ``attempt_claim_payment_try``, its ``payment_tries`` already counts this try.
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
        return _pay_quoted(attempt, quote, payment_method_id, try_claimed=try_claimed)


def _pay_quoted(
    attempt: CheckoutAttempt, quote: Quote, payment_method_id: str, *, try_claimed: bool
) -> PaymentOutcome:
    """The rest of ``attempt_pay`` once the amount due is known."""
    if not quote.items:
        raise CheckoutStateError(_("Your cart is empty."), code="cart_empty")

    if not quote.payment_required:
        _move(
            attempt,
            from_states=(State.COLLECTING,),
            record=_entry(
                attempt,
                OrderEvent.Kind.PAYMENT,
                _("No card payment needed: the gift card covers the total."),
                gift_card_amount=quote.gift_card_amount,
            ),
            state=State.PAYMENT_AUTHORIZED,
            authorized_at=timezone.now(),
            payment_intent_id="",
            failure_code="",
            failure_message="",
        )
        return _authorized_outcome(_fresh(attempt))

    if not payment_method_id:
        raise PaymentDeclined(_("Enter your card details."), code="payment_method_required")
    # Claim a try number (it names the idempotency key): one atomic UPDATE ... RETURNING.
    tries = attempt.payment_tries if try_claimed else _claim_payment_try(attempt)
    key = f"checkout-{attempt.public_id}-pi-{tries}"
    try:
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
        _event(attempt, OrderEvent.Kind.PAYMENT, _("Stripe could not be reached."), tries=tries)
        raise

    if intent.requires_capture:
        moved = _move(
            attempt,
            from_states=(State.COLLECTING,),
            record=_entry(
                attempt,
                OrderEvent.Kind.PAYMENT,
                _("Card authorized."),
                payment_intent=intent.id,
                amount=intent.amount,
                tries=tries,
            ),
            state=State.PAYMENT_AUTHORIZED,
            payment_intent_id=intent.id,
            authorized_at=timezone.now(),
            failure_code="",
            failure_message="",
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
            _("The bank asked for 3-D Secure authentication."),
            payment_intent=intent.id,
            tries=tries,
        )
        return PaymentOutcome("requires_action", intent.id, intent.client_secret)

    code = intent.last_error_code or "card_declined"
    message = decline_message(code)
    _payment_failed(attempt, code=code, message=message, tries=tries, payment_intent=intent.id)
    raise PaymentDeclined(message, code=code)


def _claim_payment_try(attempt: CheckoutAttempt) -> int:
    """Count one more payment try on the attempt and return the new count."""
    with transaction.atomic():
        claimed = CheckoutAttempt.objects.filter(pk=attempt.pk).update(
            payment_tries=F("payment_tries") + 1, updated_at=timezone.now()
        )
        if not claimed:
            raise CheckoutAttempt.DoesNotExist(f"attempt {attempt.pk} is gone")
        attempt.payment_tries = CheckoutAttempt.objects.values_list("payment_tries", flat=True).get(
            pk=attempt.pk
        )
    return attempt.payment_tries


def _payment_failed(attempt: CheckoutAttempt, *, code: str, message: str, **data: Any) -> None:
    _move(
        attempt,
        from_states=(State.COLLECTING,),
        payment_intent_id="",
        failure_code=code[:64],
        failure_message=message,
    )
    logger.info("attempt %s: payment failed (%s)", attempt.public_id, code)
    _event(attempt, OrderEvent.Kind.PAYMENT, _("Card declined."), code=code, **data)
    signals.payment_failed.send(sender=CheckoutAttempt, attempt=attempt, code=code, message=message)


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
            attempt, OrderEvent.Kind.PAYMENT, _("Card not authorized."), payment_intent=intent.id
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


# --- Placing ---------------------------------------------------------------------------


def _pending(attempt: CheckoutAttempt) -> PlacementResult:
    return PlacementResult(
        "pending",
        None,
        "confirming",
        _("We are confirming your order. This page will update in a moment."),
        None,
    )


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
        return _wait_for_outcome(attempt) if attempt.state == State.SUBMITTING else settled

    if attempt.state == State.COLLECTING:
        if not attempt.payment_intent_id:
            return _collecting_result(attempt)
        # Back from 3-D Secure: the card may be authorized now.
        rejection = _verify_intent(attempt)
        if rejection is not None:
            return rejection
        if not _move(
            attempt,
            from_states=(State.COLLECTING,),
            record=_entry(
                attempt,
                OrderEvent.Kind.PAYMENT,
                _("Card authorized after 3-D Secure."),
                payment_intent=attempt.payment_intent_id,
            ),
            state=State.PAYMENT_AUTHORIZED,
            authorized_at=timezone.now(),
            failure_code="",
            failure_message="",
        ):
            return order_place(attempt=attempt)

    # The claim is one UPDATE; its trace is the attempt's state and ``submitted_at``, and
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


def order_place_in_session(
    *, public_id: Any, owner: str
) -> tuple[CheckoutAttempt, PlacementResult] | None:
    """Place this session's paid attempt, claiming it and reading it in one UPDATE.

    The shopper's click on "Place order" usually finds the attempt ``payment_authorized``:
    then ``UPDATE ... SET state = 'submitting' ... RETURNING`` is both the read and the
    claim of ``order_place``, and ``POST /orders`` follows. None when the attempt is in
    any other state (or not this session's): the caller reads it and calls
    ``order_place``, which handles every state.
    """
    uid = _as_uuid(public_id)
    if uid is None or not owner:
        return None
    now = timezone.now()
    attempt = _claim(
        {"state": State.SUBMITTING, "submitted_at": now, "updated_at": now},
        public_id=uid,
        owner=owner,
        state=State.PAYMENT_AUTHORIZED,
    )
    if attempt is None:
        return None
    logger.info("attempt %s: submitting order", attempt.public_id)
    return attempt, _submit(attempt, may_repost=True)


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


def _submit(attempt: CheckoutAttempt, *, may_repost: bool) -> PlacementResult:
    """POST /orders for an attempt this caller has claimed (state ``submitting``)."""
    payload = order_payload(attempt)
    with _recorded_calls(attempt) as client:
        try:
            remote = client.create_order(payload)
        except SpectraConflict as err:
            if err.code == "cart_already_ordered":
                return _resolve(attempt, order_id=err.order_id, may_repost=False, cause=err)
            # cart_locked: an earlier post of ours may still be running on their side.
            return _resolve(attempt, order_id=None, may_repost=False, cause=err)
        except SpectraRejection as err:
            return _reject(attempt, err)
        except SpectraError as err:
            # Unknown outcome (timeout, 5xx, dropped connection) or never sent.
            logger.warning("attempt %s: order outcome unknown (%s)", attempt.public_id, err.code)
            _event(
                attempt,
                OrderEvent.Kind.ATTEMPT,
                _("The order's outcome is unknown; looking it up."),
                code=err.code,
                status=err.status,
            )
            return _resolve(attempt, order_id=None, may_repost=may_repost, cause=err)
        # Inside the block: the call's record is written in order_record's transaction.
        return _adopt(attempt, remote)


def _resolve(
    attempt: CheckoutAttempt, *, order_id: int | None, may_repost: bool, cause: SpectraError
) -> PlacementResult:
    """Find the order an unknown or conflicting post may have created; adopt or repost."""
    with _recorded_calls(attempt) as client:
        try:
            if order_id is not None:
                remote: spectra.Order | None = client.get_order(order_id)
            else:
                remote = client.find_order_by_cart(attempt.cart_id)
        except SpectraError:
            logger.warning("attempt %s: order lookup failed; left for recovery", attempt.public_id)
            return _pending(attempt)
    if remote is not None:
        return _adopt(attempt, remote)
    if isinstance(cause, SpectraConflict) or not may_repost:
        return _pending(attempt)
    # The lookup proved there is no order: posting again cannot make a second one.
    logger.info("attempt %s: no order found; posting again", attempt.public_id)
    _event(attempt, OrderEvent.Kind.ATTEMPT, _("No order was created; submitting again."))
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
        message = _("This cart has already been ordered (order %(number)s).") % {
            "number": remote.order_number
        }
        _move(
            attempt,
            from_states=(State.SUBMITTING, State.PAYMENT_AUTHORIZED),
            state=State.FAILED,
            finished_at=timezone.now(),
            failure_code="cart_already_ordered",
            failure_message=message,
        )
        _event(attempt, OrderEvent.Kind.ATTEMPT, message, spectra_order=remote.id)
        return PlacementResult("rejected", None, "cart_already_ordered", message, None)
    order, _created = order_record(remote=remote, attempt=attempt)  # updates ``attempt``
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
        _("Spectra refused the order: %(message)s") % {"message": err.message},
        status=err.status,
        code=code,
        fields=err.fields,
    )
    return PlacementResult("rejected", None, code, message, step)


# --- Recording -------------------------------------------------------------------------


def order_fields_from_remote(remote: spectra.Order) -> dict[str, Any]:
    """Return the ``Order`` model fields for an API order (one mapping for all callers)."""

    def amount(value: Decimal | None, default: Decimal = ZERO) -> Decimal:
        return money(value) if value is not None else default

    gift_card_total = amount(remote.gift_card_total)
    name = ""
    if remote.billing is not None:
        name = remote.billing.name
    if not name and remote.shipping is not None:
        name = remote.shipping.name
    return {
        "spectra_id": remote.id,
        "order_number": remote.order_number,
        "cart_id": remote.cart_id,
        "email": remote.email,
        "customer_name": name,
        "status": remote.status,
        "payment_status": remote.payment_status,
        "is_test": remote.is_test,
        "subtotal": amount(remote.subtotal),
        "shipping_total": amount(remote.shipping_total),
        "discount_total": amount(remote.discount_total),
        "tax_total": amount(remote.tax_total),
        "gift_card_total": gift_card_total,
        "grand_total": money(remote.grand_total),
        "amount_charged": amount(
            remote.amount_charged, money(remote.grand_total) - gift_card_total
        ),
        "billing": _jsonable(dict(remote.billing.raw)) if remote.billing else {},
        "shipping": _jsonable(dict(remote.shipping.raw)) if remote.shipping else {},
        "shipping_method": (
            _jsonable(dict(remote.shipping_method.raw)) if remote.shipping_method else {}
        ),
        "items": [_jsonable(dict(item.raw)) for item in remote.items],
        "promo_code": remote.promo_code,
        "payment_intent_id": remote.payment_intent_id,
        "tracking_number": remote.tracking_number,
        "shipping_carrier": remote.shipping_carrier,
        "raw": _jsonable(dict(remote.raw)),
        "placed_at": remote.created_at or timezone.now(),
        "spectra_updated_at": remote.updated_at,
        "last_synced_at": timezone.now(),
    }


def order_record(*, remote: spectra.Order, attempt: CheckoutAttempt | None) -> tuple[Order, bool]:
    """Get or create the local order for an API order; return it and whether it is new.

    On create (in one transaction): the order row, its timeline entry, the confirmation
    email in the ledger and outbox; ``order_placed`` is sent after commit. With an
    attempt, the attempt is marked placed (or ``needs_review`` if it contradicts the
    order) and its timeline moves to the order.
    """
    fields = order_fields_from_remote(remote)
    with transaction.atomic():
        locked_attempt = None
        if attempt is not None:
            locked_attempt = (
                CheckoutAttempt.objects.select_for_update().filter(pk=attempt.pk).first()
            )
            if locked_attempt is None:
                raise CheckoutAttempt.DoesNotExist(f"attempt {attempt.pk} is gone")
        # The usual case (a new order) is one INSERT; the unique constraints decide races.
        order = Order(attempt=locked_attempt, **fields)
        created = _insert_unless_conflict(order)
        if not created:
            found = Order.objects.select_for_update().filter(spectra_id=remote.id).first()
            if found is None:
                # Not recorded yet, so the conflict was the attempt's own link: it already
                # has another order (a contradiction, flagged below).
                order = Order(attempt=None, **fields)
                created = _insert_unless_conflict(order)
            if not created:
                # Recorded before or concurrently (placement, recovery or webhook sync).
                order = found or Order.objects.select_for_update().get(spectra_id=remote.id)
        if not created and (
            locked_attempt is not None
            and order.attempt_id is None
            and not Order.objects.filter(attempt=locked_attempt).exists()
        ):
            order.attempt = locked_attempt
            order.save(update_fields=["attempt", "updated_at"])

        placed = [_placed_entry(order, locked_attempt)]
        if created:
            email_schedule(order=order, kind="confirmation", timeline=placed)
        if locked_attempt is not None:
            _settle_attempt(locked_attempt, order, remote)
            # The API calls that placed it (recorded, not yet written) join this commit,
            # in one INSERT with the "placed" and "email queued" entries.
            _flush_calls(
                order=order if order.attempt_id == locked_attempt.pk else None,
                then=placed if created else (),
            )
        elif created:
            OrderEvent.objects.bulk_create(placed)
        if created:
            _recorded(order, locked_attempt)
    if attempt is not None and locked_attempt is not None:
        # The caller's instance now matches the committed row (no re-read needed).
        for model_field in CheckoutAttempt._meta.concrete_fields:
            setattr(attempt, model_field.attname, getattr(locked_attempt, model_field.attname))
    return order, created


def _insert_unless_conflict(order: Order) -> bool:
    """Insert ``order`` unless a unique constraint already holds its key; return whether
    it was inserted. The savepoint keeps the caller's transaction usable after a conflict."""
    try:
        with transaction.atomic():
            order.save(force_insert=True)
    except IntegrityError:
        order.pk = None
        return False
    return True


def _placed_entry(order: Order, attempt: CheckoutAttempt | None) -> OrderEvent:
    return OrderEvent(
        order=order,
        attempt=attempt,
        kind=OrderEvent.Kind.ATTEMPT,
        message=_("Order %(number)s placed.") % {"number": order.order_number},
        data={"spectra_id": order.spectra_id, "amount_charged": str(order.amount_charged)},
    )


def _recorded(order: Order, attempt: CheckoutAttempt | None) -> None:
    """A new order is recorded: ``order_placed`` after the commit, and the log line."""
    transaction.on_commit(
        lambda: signals.order_placed.send(sender=Order, order=order, attempt=attempt)
    )
    logger.info(
        "order %s recorded (spectra id %s, attempt %s)",
        order.order_number,
        order.spectra_id,
        attempt.public_id if attempt else "-",
    )


def _settlement(
    attempt: CheckoutAttempt, remote: spectra.Order, *, linked: bool
) -> tuple[str, str]:
    """The state an attempt settles in once its order is recorded, and the problem if any.

    ``linked``: the order is this attempt's (not linked to another one).
    """
    if not linked:
        return State.NEEDS_REVIEW, "order_linked_elsewhere"
    if (
        attempt.payment_intent_id
        and remote.amount_charged is not None
        and (remote.amount_charged > attempt.amount_due)
    ):
        # The API says it charged more than the card authorization: staff must look.
        return State.NEEDS_REVIEW, "amount_charged_exceeds_authorization"
    return State.PLACED, ""


def _settled(state: str, problem: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "state": state,
        "finished_at": now,
        "failure_code": problem,
        "failure_message": "",
        "updated_at": now,
    }


def _settle_attempt(attempt: CheckoutAttempt, order: Order, remote: spectra.Order) -> None:
    """Mark the attempt placed (inside order_record's transaction); flag contradictions."""
    state, problem = _settlement(attempt, remote, linked=order.attempt_id == attempt.pk)
    if attempt.state == state:
        return
    changes = _settled(state, problem, timezone.now())
    CheckoutAttempt.objects.filter(pk=attempt.pk).update(**changes)  # the row is locked
    for name, value in changes.items():
        setattr(attempt, name, value)
    # The attempt's timeline so far joins the order's.
    OrderEvent.objects.filter(attempt=attempt, order__isnull=True).update(order=order)
    if problem:
        logger.error("attempt %s: needs review (%s)", attempt.public_id, problem)
        OrderEvent.objects.create(
            order=order,
            attempt=attempt,
            kind=OrderEvent.Kind.ATTEMPT,
            message=_("Needs review: %(problem)s") % {"problem": problem},
            data={"problem": problem},
        )


# --- Recovery --------------------------------------------------------------------------


def attempts_to_recover(*, older_than: dt.timedelta) -> QuerySet[CheckoutAttempt]:
    """Return attempts paid or submitted longer ago than ``older_than`` (for the sweep)."""
    cutoff = timezone.now() - older_than
    return CheckoutAttempt.objects.filter(
        Q(state=State.PAYMENT_AUTHORIZED) | Q(state=State.SUBMITTING), updated_at__lt=cutoff
    ).order_by("updated_at")


def _in_flight_window() -> dt.timedelta:
    # A post still running on our side can last connect + order timeout; add a margin.
    return dt.timedelta(
        seconds=app_settings.SPECTRA_CONNECT_TIMEOUT + app_settings.SPECTRA_ORDER_TIMEOUT + 30
    )


def attempt_recover(*, attempt: CheckoutAttempt) -> PlacementResult | None:
    """Finish an attempt a shopper left after paying: adopt, place or release.

    For the periodic sweep. Returns None when the attempt needs nothing (not paid, or
    already settled). Order of checks: an order for the cart is adopted; a submission
    still within its timeout is left alone; an attempt older than
    ``CHECKOUT_ATTEMPT_RELEASE_AFTER`` is released (hold cancelled, failed); otherwise a
    still-authorized card is placed (again only after the lookup proved no order).
    """
    attempt = _fresh(attempt)
    if attempt.state not in (State.PAYMENT_AUTHORIZED, State.SUBMITTING):
        return None
    now = timezone.now()
    if (
        attempt.state == State.SUBMITTING
        and attempt.submitted_at
        and (now - attempt.submitted_at < _in_flight_window())
    ):
        return _pending(attempt)

    with _recorded_calls(attempt) as client:
        try:
            remote = client.find_order_by_cart(attempt.cart_id)
        except SpectraTransientError:
            logger.warning("attempt %s: recovery lookup failed", attempt.public_id)
            return _pending(attempt)
    if remote is not None:
        _event(attempt, OrderEvent.Kind.SYNC, _("Recovery found the order; adopting it."))
        return _adopt(attempt, remote)

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
                from_states=(State.PAYMENT_AUTHORIZED, State.SUBMITTING),
                state=State.NEEDS_REVIEW,
                failure_code="captured_without_order",
                finished_at=now,
            )
            logger.error("attempt %s: PaymentIntent captured without order", attempt.public_id)
            _event(
                attempt,
                OrderEvent.Kind.SYNC,
                _("Needs review: the card was charged but Spectra has no order."),
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
            from_states=(State.PAYMENT_AUTHORIZED, State.SUBMITTING),
            state=State.FAILED,
            finished_at=now,
            failure_code="released",
            failure_message=message,
        )
        _event(attempt, OrderEvent.Kind.SYNC, _("Recovery released the attempt."))
        return PlacementResult("rejected", None, "released", message, None)

    if attempt.state == State.PAYMENT_AUTHORIZED:
        _event(attempt, OrderEvent.Kind.SYNC, _("Recovery is placing the paid order."))
        return order_place(attempt=attempt, reload=False)
    # Stuck in submitting, no order exists, the card is still authorized: claim the
    # resubmission (compare-and-set on submitted_at) so two sweeps never both post.
    claimed = CheckoutAttempt.objects.filter(
        pk=attempt.pk, state=State.SUBMITTING, submitted_at=attempt.submitted_at
    ).update(submitted_at=now, updated_at=now)
    if not claimed:
        return _pending(attempt)
    attempt = _fresh(attempt)
    _event(attempt, OrderEvent.Kind.SYNC, _("Recovery is submitting the order again."))
    return _submit(attempt, may_repost=False)
