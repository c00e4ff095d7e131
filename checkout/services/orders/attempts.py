"""The checkout attempt and its steps: which session owns it, its details (contact,
address, shipping, billing, codes), its quote, and the compare-and-set state moves.
"""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from checkout.exceptions import (
    CheckoutStateError,
    ProviderError,
    ShopperError,
    SpectraNotFound,
    SpectraValidationError,
    StripeProviderError,
)
from checkout.languages import supported_language
from checkout.models import CheckoutAttempt, OrderEvent
from checkout.services.orders.results import State, Step
from checkout.services.orders.timeline import _event, _flush_calls
from checkout.services.payments import (
    payment_intent_cancel,
)
from checkout.services.quotes import (
    Quote,
    api_address,
    attempt_fingerprint,
    attempt_quote,
    gift_card_normalize,
    gift_card_validate,
    needs_rates,
    promo_normalize,
    promo_validate,
    quote_cache_derive,
    quote_cache_get,
    quote_cache_set,
    quote_calls,
    quote_figures,
    quote_for_rate,
    rate_to_dict,
)
from checkout.services.rounds import Round, api_round
from checkout.services.spectra import Cart, ShippingRate, get_spectra_client
from checkout.timeline_text import note

logger = logging.getLogger(__name__)


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
    attempts = CheckoutAttempt.objects.filter(pk=attempt.pk, state__in=from_states)
    if record is None:
        moved = bool(attempts.update(**changes))  # one statement: atomic on its own
    else:
        with transaction.atomic():
            moved = bool(attempts.update(**changes))
            if moved:
                _flush_calls(then=[record])
    if moved:
        # The move won: the row now holds our changes (no re-read). A lost move re-reads
        # so the caller sees the winner's state.
        for name, value in changes.items():
            setattr(attempt, name, value)
    else:
        attempt.refresh_from_db()
    return bool(moved)


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
            note(
                gettext_noop("Could not release the card authorization; it will lapse on its own.")
            ),
            payment_intent=pi_id,
            reason=reason,
        )
        return
    logger.info("attempt %s: PaymentIntent %s released (%s)", attempt.public_id, pi_id, reason)
    _event(
        attempt,
        OrderEvent.Kind.PAYMENT,
        note(gettext_noop("Card authorization released.")),
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
    try:  # public_id is unique: no ORDER BY, no LIMIT walk
        return CheckoutAttempt.objects.get(public_id=uid, owner=owner)
    except CheckoutAttempt.DoesNotExist:
        return None


def _open_attempt(*, cart_id: str) -> CheckoutAttempt | None:
    """Return the cart's open attempt, whoever owns it (None if there is none)."""
    try:
        return CheckoutAttempt.objects.filter(
            cart_id=cart_id, state__in=CheckoutAttempt.OPEN_STATES
        ).get()
    except CheckoutAttempt.DoesNotExist:
        return None


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
    # At most one (a constraint), so no ORDER BY: with one and a LIMIT, PostgreSQL may walk
    # the primary key index of every attempt instead of looking the cart up.
    try:
        attempt = open_attempts.get()
    except CheckoutAttempt.DoesNotExist:
        attempt = None
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
    _event(
        attempt, OrderEvent.Kind.ATTEMPT, note(gettext_noop("Checkout started.")), cart_id=cart_id
    )
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


def checkout_snapshot(
    *,
    cart_id: str,
    owner: str,
    with_rates: bool,
    with_quote: bool = True,
) -> CheckoutSnapshot:
    """Return the cart's open attempt with its quote, from the quote cache when unchanged.

    No API call when the cached quote is for this cart version and this attempt as it is
    now (see ``checkout.services.quotes``); otherwise one round of calls made together
    (``checkout.services.rounds``): the cart, the rates (when the attempt has an address
    and ``with_rates`` or a chosen rate), tax and codes, each fetched once. A new
    shopper's attempt is created only once the cart proved usable; its quote then has
    its own round. ``with_quote=False`` (a form POST that redirects): when the cart did
    not change since the last quote (its version), that is proof enough that it exists
    and is not empty, whatever the attempt became; ``quote`` is then None. Raises
    ``ProviderError`` only when the cart itself cannot be fetched.
    """
    token, cached = quote_cache_get(cart_id=cart_id)
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
            )
    answers: Round | None
    owned = attempt is not None
    if attempt is None:
        # The shopper's open attempt, read (never created) before the cart is fetched, so
        # its quote's calls go in the cart's round; a new shopper's has no address yet.
        attempt = _open_attempt(cart_id=cart_id)
        owned = attempt is not None and attempt.owner == owner
    if owned and attempt is not None:
        fetch_rates = bool(attempt.shipping_address and (with_rates or attempt.shipping_rate))
        answers = api_round(quote_calls(attempt=attempt, cart=True, rates=fetch_rates))
    else:
        client = get_spectra_client()
        answers = api_round({"cart": lambda: client.get_cart(cart_id)})
    try:
        cart: Cart = answers.result("cart")
    except SpectraNotFound:
        return CheckoutSnapshot("gone", None, None, None, 0)
    if cart.locked:
        return CheckoutSnapshot("locked", None, None, None, 0)
    if cart.is_empty:
        return CheckoutSnapshot("empty", None, None, None, 0)
    if not owned:
        attempt = attempt_for_cart(cart_id=cart_id, owner=owner)
        if attempt is None:
            return CheckoutSnapshot("taken", None, None, None, 0)
        answers = None  # the round was the cart's alone: the quote makes its own
    assert attempt is not None
    rates: tuple[ShippingRate, ...] | None = None
    try:
        priced: tuple[ShippingRate, ...] | None = None
        if attempt.shipping_address and (with_rates or attempt.shipping_rate):
            try:
                fetched = (
                    answers.result("rates")
                    if answers is not None and "rates" in answers
                    else attempt_shipping_rates(attempt=attempt)
                )
                rates = priced = tuple(fetched)
            except SpectraValidationError:
                priced = ()  # an address the API no longer takes: no rate to charge
        quote = attempt_quote(attempt=attempt, cart=cart, rates=priced, answers=answers)
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
    if len(cleaned["state"]) <= 3:
        # A region code ("ny"); regions some countries write out ("Hong Kong Island",
        # "東京都") keep the form's spelling (checkout.addresses).
        cleaned["state"] = cleaned["state"].upper()
    cleaned["country"] = (cleaned["country"] or "US").upper()
    return cleaned


def attempt_save_information(
    *,
    attempt: CheckoutAttempt,
    email: str,
    phone: str,
    shipping_address: dict[str, Any],
    language: str = "",
) -> CheckoutAttempt:
    """Store the contact details and shipping address (step 1), and ``language``, the
    shopper's, in the same write (as ``attempt_remember_language`` keeps it).

    A changed address clears the chosen shipping rate: its price depends on the address.
    """
    address = _clean_address(shipping_address)
    if (
        attempt.state in (State.COLLECTING, State.PAYMENT_AUTHORIZED)
        and attempt.email == email.strip()
        and attempt.phone == phone.strip()
        and attempt.shipping_address == address
    ):
        # Unchanged (a resubmitted form): no write but the language's, and a card hold
        # stays. Checked on the caller's instance: nothing else is written, so a change
        # made meanwhile stands.
        return attempt_remember_language(attempt=attempt, language=language)
    code = supported_language(language)
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
        if code and code != attempt.language:
            changes["language"] = code
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
    attempt.language = code or attempt.language
    attempt.save(
        update_fields=[
            "email",
            "phone",
            "shipping_address",
            "shipping_rate",
            "language",
            "updated_at",
        ]
    )
    return attempt


def attempt_remember_language(*, attempt: CheckoutAttempt, language: str) -> CheckoutAttempt:
    """Keep the shopper's current language on the attempt; the order and its emails use it.

    Called when the shopper submits a step, so the language they pay in wins. Only a
    language of ``settings.LANGUAGES`` is kept. No write when it is unchanged, and
    ``updated_at`` stays: the quote is the same in every language.
    """
    code = supported_language(language)
    if code and code != attempt.language:
        CheckoutAttempt.objects.filter(pk=attempt.pk).update(language=code)
        attempt.language = code
    return attempt


def attempt_shipping_rates(*, attempt: CheckoutAttempt) -> list[ShippingRate]:
    """Return the API's shipping options for the cart and the saved address."""
    if not attempt.shipping_address:
        raise CheckoutStateError(_("Enter your shipping address first."), code="no_address")
    return get_spectra_client().get_shipping_rates(
        attempt.cart_id, address=api_address(attempt.shipping_address)
    )


def attempt_rates_shown(*, attempt: CheckoutAttempt) -> list[ShippingRate]:
    """Return the rates the shipping page showed for the attempt as it is now (cached
    with its quote, as old as the quote cache allows), else the API's rates now."""
    _token, cached = quote_cache_get(cart_id=attempt.cart_id)
    if (
        cached is not None
        and cached.rates is not None
        and cached.fingerprint == attempt_fingerprint(attempt)
    ):
        return list(cached.rates)
    return attempt_shipping_rates(attempt=attempt)


def attempt_choose_shipping(
    *,
    attempt: CheckoutAttempt,
    service_code: str,
    rates: Sequence[ShippingRate] | None = None,
) -> CheckoutAttempt:
    """Store the chosen shipping rate, priced by the API (never by the browser).

    ``rates``: the API's rates for the attempt's address that the page's form was checked
    against (``attempt_rates_shown``); fetched here when not given.
    """
    if rates is None:
        rates = attempt_shipping_rates(attempt=attempt)
    rate = next((r for r in rates if r.service_code == service_code), None)
    if rate is None:
        raise CheckoutStateError(
            _("This shipping option is not available for your address. Choose another one."),
            code="shipping_unavailable",
            field="service_code",
        )
    # The quote the shipping page showed (cached for the attempt as the shopper saw it),
    # priced with the chosen rate: the tax does not depend on the rate, so it is the
    # quote the payment page would ask the API for again.
    _token, cached = quote_cache_get(cart_id=attempt.cart_id)
    shown = cached if cached and cached.fingerprint == attempt_fingerprint(attempt) else None
    quote = quote_for_rate(quote=shown.quote, rate=rate) if shown is not None else None
    changes: dict[str, Any] = {"shipping_rate": rate_to_dict(rate), "updated_at": timezone.now()}
    if quote is not None:
        changes.update(quote_figures(quote))
    if (
        attempt.state == State.COLLECTING
        and not attempt.payment_intent_id
        # The common case: one compare-and-set UPDATE, on the row exactly as it was read
        # (so as the quote was computed for), with no card hold to release.
        and CheckoutAttempt.objects.filter(
            pk=attempt.pk,
            state=State.COLLECTING,
            payment_intent_id="",
            updated_at=attempt.updated_at,
        ).update(**changes)
    ):
        for name, value in changes.items():
            setattr(attempt, name, value)
        if shown is not None and quote is not None:
            quote_cache_derive(
                cart_id=attempt.cart_id, cached=shown, attempt=attempt, quote=quote, rates=rates
            )
        return attempt
    attempt = _editable(attempt)
    attempt.shipping_rate = changes["shipping_rate"]
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


def _with_code_round(attempt: CheckoutAttempt, **code: str) -> tuple[CheckoutAttempt, Round]:
    """Return the attempt as it would be with ``code`` applied, and its quote's round.

    Checking a code and quoting with it ask the same ``validate-promo`` (or
    ``validate-gift-card``) call: one round asks it with the cart, rates and tax.
    """
    candidate = copy.copy(attempt)
    for name, value in code.items():
        setattr(candidate, name, value)
    calls = quote_calls(attempt=candidate, cart=True, rates=needs_rates(candidate))
    return candidate, api_round(calls)


def _quote_inputs(attempt: CheckoutAttempt) -> tuple[Any, ...]:
    return (
        attempt.cart_id,
        attempt.email,
        attempt.shipping_address,
        attempt.shipping_rate.get("service_code"),
        attempt.promo_code,
        attempt.gift_card_code,
    )


def _quote_with(attempt: CheckoutAttempt, candidate: CheckoutAttempt, answers: Round) -> Quote:
    # The round was asked for the attempt as it was read; a change made meanwhile (another
    # tab saved a new address) is quoted afresh.
    same = _quote_inputs(attempt) == _quote_inputs(candidate)
    return attempt_quote(attempt=attempt, answers=answers if same else None)


def attempt_apply_promo(*, attempt: CheckoutAttempt, code: str) -> Quote:
    """Apply a promo code after the API accepted it; raise ``InvalidPromoCode`` if not."""
    candidate, answers = _with_code_round(attempt, promo_code=promo_normalize(code))
    normalized = promo_validate(attempt=candidate, code=code, answers=answers)
    attempt = _editable(attempt)
    attempt.promo_code = normalized
    attempt.save(update_fields=["promo_code", "updated_at"])
    _event(
        attempt,
        OrderEvent.Kind.ATTEMPT,
        note(gettext_noop("Promo code applied.")),
        promo_code=normalized,
    )
    candidate.promo_code = normalized
    return _quote_with(attempt, candidate, answers)


def attempt_remove_promo(*, attempt: CheckoutAttempt) -> Quote:
    """Remove the promo code."""
    attempt = _editable(attempt)
    if attempt.promo_code:
        attempt.promo_code = ""
        attempt.save(update_fields=["promo_code", "updated_at"])
    return attempt_quote(attempt=attempt)


def attempt_apply_gift_card(*, attempt: CheckoutAttempt, code: str) -> Quote:
    """Apply a gift card with a usable balance; raise ``InvalidGiftCard`` if it has none."""
    candidate, answers = _with_code_round(attempt, gift_card_code=gift_card_normalize(code))
    normalized = gift_card_validate(code=code, answers=answers)
    attempt = _editable(attempt)
    attempt.gift_card_code = normalized
    attempt.save(update_fields=["gift_card_code", "updated_at"])
    # Only the last four characters: the code is as good as cash.
    _event(
        attempt,
        OrderEvent.Kind.ATTEMPT,
        note(gettext_noop("Gift card applied.")),
        gift_card=normalized[-4:],
    )
    return _quote_with(attempt, candidate, answers)


def attempt_remove_gift_card(*, attempt: CheckoutAttempt) -> Quote:
    """Remove the gift card."""
    attempt = _editable(attempt)
    if attempt.gift_card_code:
        attempt.gift_card_code = ""
        attempt.save(update_fields=["gift_card_code", "updated_at"])
    return attempt_quote(attempt=attempt)
