"""The amount due for a checkout attempt, computed on the server from the API's numbers.

A ``Quote`` is built from the cart (``GET cart``), the chosen shipping rate (fetched again,
so a changed cart weight or a threshold reached is seen), ``calculate-tax``,
``validate-promo`` and the gift-card balance. Nothing here trusts the browser. The API
stays the authority when the order is placed: a quote is what we authorize on the card,
and ``POST /orders`` answers 402 if the API's own total is higher.

Promo and gift-card codes live on the attempt; applying one validates it with the API
first. A code that stopped applying (expired promo, used-up card) is dropped from the
attempt at the next quote, with the API's reason in ``promo_message``.

Every function here makes network calls and therefore never runs inside a transaction;
the figures are written back in one short UPDATE, and only when one of them changed.
The calls of a quote do not depend on each other and only read, so they are made in one
round (``checkout.services.rounds``): the shopper waits for the slowest, not the sum.

Quote cache: a checkout page GET should not call the API when nothing changed. The last
quote of a cart (with the shipping rates it was priced from) is kept in Django's cache
(Redis in production) under the cart id, tagged with the cart's *version* (a random
token replaced by ``cart_changed`` on every change to the cart's lines) and the
attempt's fingerprint (id, ``updated_at``, state, codes). Every service that changes the
attempt saves ``updated_at``, so a changed address, rate or code misses the cache; a
changed cart misses through its version. Entries also expire after
``QUOTE_CACHE_SECONDS`` so a price changed in Spectra shows up soon.

Choosing a shipping rate changes the attempt but not the API's numbers: the rates the
shipping page showed and the quote priced with the chosen one (``quote_for_rate``; the
tax does not depend on the rate) are the payment page's quote. ``quote_cache_derive``
keeps it for the attempt as it now is, for what is left of the lifetime of the answers
it came from, so the shipping POST and the payment page's first visit ask the API
nothing.

Paying: ``attempt_pay`` authorizes the quote the shopper was shown (``quote_shown``) while
it is current by the same rules, and quotes afresh otherwise; a checkout's prices held
for a short while, as Saleor holds them until ``price_expiration``. The card is
authorized for what the page showed, not for a figure computed a moment later that the
shopper never saw. The API stays the authority: ``POST /orders`` refuses with 402 when
its own total is higher than the authorization, and the shopper is asked to review.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.cache import cache
from django.utils.translation import gettext as _

from checkout.conf import money
from checkout.exceptions import InvalidGiftCard, InvalidPromoCode, SpectraValidationError
from checkout.models import CheckoutAttempt
from checkout.services.rounds import Round, api_round
from checkout.services.spectra import (
    API_CURRENCY,
    Cart,
    CartItem,
    GiftCardBalance,
    PromoValidation,
    ShippingRate,
    TaxQuote,
    get_spectra_client,
)

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Quote:
    """The amount due, computed server-side from the API's numbers."""

    items: tuple[CartItem, ...]
    item_count: int
    subtotal: Decimal
    shipping_total: Decimal
    discount_total: Decimal
    tax_estimate: Decimal
    gift_card_amount: Decimal
    grand_total: Decimal
    amount_due: Decimal  # grand_total - gift_card_amount (>= 0); charged to the card
    free_shipping: bool  # the promo offers free (ground) shipping; see shipping_is_free
    promo_code: str
    promo_message: str
    gift_card_balance: Decimal | None
    shipping_rate: dict[str, Any] | None
    currency: str = API_CURRENCY  # the cart's: every figure above is in it

    @property
    def shipping_is_free(self) -> bool:
        """Return whether the chosen rate costs nothing in this quote.

        The one answer to "is shipping free?": the summary, the recap and the card's
        amount all follow ``shipping_total``, so a page never says "Free" for shipping
        that is charged (a free-shipping promo covers ground services only).
        """
        return self.shipping_rate is not None and self.shipping_total == ZERO

    @property
    def shipping_note(self) -> str:
        """Return why a free-shipping promo does not cover the chosen rate, else ""."""
        if self.free_shipping and self.shipping_rate is not None and not self.shipping_is_free:
            return _("Free shipping covers ground services only.")
        return ""

    @property
    def payment_required(self) -> bool:
        """Return whether a card must be charged (False when a gift card covers all)."""
        return self.amount_due > ZERO


def rate_method(rate: ShippingRate) -> str:
    """Return the rate's method ("ground" or "express") as the order payload wants it."""
    method = str(rate.raw.get("method") or "")
    if method:
        return method
    return "ground" if "ground" in rate.service.lower() else "express"


def rate_to_dict(rate: ShippingRate) -> dict[str, Any]:
    """Return a rate as stored on the attempt (JSON: the price as a string)."""
    return {
        "carrier": rate.carrier,
        "service": rate.service,
        "service_code": rate.service_code,
        "method": rate_method(rate),
        "price": str(rate.price),
        "estimated_delivery": (
            rate.estimated_delivery.isoformat() if rate.estimated_delivery else None
        ),
        "transit_days": rate.transit_days,
    }


def api_address(address: dict[str, Any]) -> dict[str, Any]:
    """Return the address fields the API takes (name, address1, ..., country)."""
    keys = ("name", "address1", "address2", "city", "state", "zip", "country")
    return {k: str(address.get(k) or "") for k in keys}


def _gift_card_message(status: str, api_message: str) -> str:
    messages = {
        "not_found": _("This gift card does not exist. Check the code and try again."),
        "redeemed": _("This gift card has no balance left."),
        "expired": _("This gift card has expired."),
        "disabled": _("This gift card cannot be used."),
    }
    return messages.get(status) or api_message or _("This gift card cannot be used.")


def _tax(
    *, attempt: CheckoutAttempt, answers: Round, subtotal: Decimal, discount: Decimal
) -> Decimal:
    """Return the tax estimate: the API's rate applied to the discounted subtotal.

    ``calculate-tax`` knows the cart and the state but not the promo code, and the API
    taxes the amount after discounts; so with a discount we apply its rate ourselves.
    """
    if "tax" not in answers:  # no state to tax for
        return ZERO
    tax: TaxQuote = answers.result("tax")
    if discount <= ZERO or tax.tax_rate <= 0:
        return tax.tax_amount
    base = max(ZERO, subtotal - discount)
    return (base * tax.tax_rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _fresh_rate(
    attempt: CheckoutAttempt, rates: Sequence[ShippingRate] | None
) -> ShippingRate | None:
    """Return the chosen rate as the API prices it now, or None if it is gone.

    ``rates``: the cart's rates for the attempt's address (None: the address has none).
    """
    code = str(attempt.shipping_rate.get("service_code") or "")
    if not code or not attempt.shipping_address or rates is None:
        return None
    return next((r for r in rates if r.service_code == code), None)


def shipping_charge(*, rate: ShippingRate, free_shipping: bool) -> Decimal:
    """Return what ``rate`` costs the shopper; the API's free-shipping promos cover ground
    services only, so an express rate is charged in full."""
    if free_shipping and rate_method(rate) == "ground":
        return ZERO
    return money(rate.price)


def _totals(
    *,
    subtotal: Decimal,
    shipping_total: Decimal,
    discount: Decimal,
    tax: Decimal,
    gift_card_balance: Decimal | None,
) -> tuple[Decimal, Decimal, Decimal]:
    """Return (grand total, gift-card amount, amount due) from the summary's lines."""
    grand_total = max(ZERO, subtotal + shipping_total - discount + tax)
    gift_card_amount = min(gift_card_balance, grand_total) if gift_card_balance else ZERO
    return grand_total, gift_card_amount, grand_total - gift_card_amount


def quote_for_rate(*, quote: Quote, rate: ShippingRate) -> Quote:
    """Return ``quote`` as it would be with ``rate`` chosen: the shipping step's summary
    for the rate the shopper has selected but not yet saved. No API call: the tax does
    not depend on the rate (the API taxes the discounted subtotal)."""
    shipping_total = shipping_charge(rate=rate, free_shipping=quote.free_shipping)
    grand_total, gift_card_amount, amount_due = _totals(
        subtotal=quote.subtotal,
        shipping_total=shipping_total,
        discount=quote.discount_total,
        tax=quote.tax_estimate,
        gift_card_balance=quote.gift_card_balance,
    )
    return replace(
        quote,
        shipping_total=shipping_total,
        grand_total=grand_total,
        gift_card_amount=gift_card_amount,
        amount_due=amount_due,
        shipping_rate=rate_to_dict(rate),
    )


def quote_figures(quote: Quote) -> dict[str, Any]:
    """The attempt's fields that hold a quote's figures (``attempt_quote`` keeps them)."""
    return {
        "currency": quote.currency,
        "subtotal": quote.subtotal,
        "shipping_total": quote.shipping_total,
        "discount_total": quote.discount_total,
        "tax_estimate": quote.tax_estimate,
        "gift_card_amount": quote.gift_card_amount,
        "amount_due": quote.amount_due,
    }


def needs_rates(attempt: CheckoutAttempt) -> bool:
    """Return whether the attempt's quote prices a chosen rate (so needs the rates)."""
    return bool(attempt.shipping_rate.get("service_code") and attempt.shipping_address)


def quote_calls(
    *, attempt: CheckoutAttempt, cart: bool, rates: bool
) -> dict[str, Callable[[], Any]]:
    """Return the API calls a quote of the attempt needs, for one round (``rounds``).

    ``cart`` and ``rates``: whether the cart and the rates for the attempt's address are
    still to be fetched. None of the calls depends on another's answer (tax, promo and
    gift card are asked as if the cart had items; ``attempt_quote`` reads their answers
    only if it does), and none writes. In the order they were made one by one, which is
    the order their answers are read in: the first failure read is the one raised.
    """
    client = get_spectra_client()
    cart_id = attempt.cart_id
    calls: dict[str, Callable[[], Any]] = {}
    if cart:
        calls["cart"] = lambda: client.get_cart(cart_id)
    if rates and attempt.shipping_address:
        address = api_address(attempt.shipping_address)
        calls["rates"] = lambda: client.get_shipping_rates(cart_id, address=address)
    if attempt.promo_code:
        code, email = attempt.promo_code, attempt.email
        calls["promo"] = lambda: client.validate_promo(cart_id, code=code, email=email)
    state = str(attempt.shipping_address.get("state") or "")
    if state:
        calls["tax"] = lambda: client.calculate_tax(cart_id, shipping_state=state)
    if attempt.gift_card_code:
        gift_card = attempt.gift_card_code
        calls["gift_card"] = lambda: client.validate_gift_card(gift_card)
    return calls


def round_rates(answers: Round) -> tuple[ShippingRate, ...] | None:
    """Return the round's rates: () when the API no longer takes the address or cart,
    None when they were not asked for."""
    if "rates" not in answers:
        return None
    try:
        return tuple(answers.result("rates"))
    except SpectraValidationError:
        return ()  # empty cart or an address the API no longer takes: no rate to charge


def attempt_quote(
    *,
    attempt: CheckoutAttempt,
    cart: Cart | None = None,
    rates: Sequence[ShippingRate] | None = None,
    answers: Round | None = None,
) -> Quote:
    """Return the amount due from the API's numbers; store the figures on the attempt.

    ``cart`` and ``rates`` (for the attempt's address) may be passed when the caller
    fetched them in this request, so they are not fetched twice; ``answers``, a round
    the caller started with ``quote_calls`` (then the rest of the calls are in it).
    Otherwise the calls needed are made in one round. Figures are only written while
    the attempt is collecting, and only those that changed: once a card is authorized,
    ``amount_due`` is the authorized amount and must not move under it.
    """
    if answers is None:
        answers = api_round(
            quote_calls(
                attempt=attempt,
                cart=cart is None,
                rates=rates is None and needs_rates(attempt),
            )
        )
    if cart is None:
        cart = answers.result("cart")
    if rates is None and cart.items:
        rates = round_rates(answers)
    updates: dict[str, Any] = {}

    rate = _fresh_rate(attempt, rates) if cart.items else None
    shipping_rate = rate_to_dict(rate) if rate else None
    if attempt.shipping_rate and shipping_rate is None:
        updates["shipping_rate"] = {}
    elif shipping_rate is not None and shipping_rate != attempt.shipping_rate:
        updates["shipping_rate"] = shipping_rate

    subtotal = money(cart.subtotal)
    discount = ZERO
    free_shipping = False
    promo_message = ""
    promo_code = attempt.promo_code
    if promo_code and cart.items:
        promo: PromoValidation = answers.result("promo")
        promo_message = promo.message
        if promo.valid:
            discount = min(money(promo.discount_amount), subtotal)
            free_shipping = promo.free_shipping
        else:
            logger.info(
                "attempt %s: promo %s dropped (%s)", attempt.public_id, promo_code, promo.message
            )
            promo_code = ""
            updates["promo_code"] = ""

    shipping_total = shipping_charge(rate=rate, free_shipping=free_shipping) if rate else ZERO
    tax = (
        _tax(attempt=attempt, answers=answers, subtotal=subtotal, discount=discount)
        if cart.items
        else ZERO
    )

    gift_card_balance: Decimal | None = None
    if attempt.gift_card_code:
        card: GiftCardBalance = answers.result("gift_card")
        if card.valid:
            gift_card_balance = money(card.balance)
        else:
            logger.info("attempt %s: gift card dropped (%s)", attempt.public_id, card.status)
            updates["gift_card_code"] = ""
    grand_total, gift_card_amount, amount_due = _totals(
        subtotal=subtotal,
        shipping_total=shipping_total,
        discount=discount,
        tax=tax,
        gift_card_balance=gift_card_balance,
    )

    quote = Quote(
        items=cart.items,
        item_count=cart.item_count,
        subtotal=subtotal,
        shipping_total=shipping_total,
        discount_total=discount,
        tax_estimate=tax,
        gift_card_amount=gift_card_amount,
        grand_total=grand_total,
        amount_due=amount_due,
        free_shipping=free_shipping,
        promo_code=promo_code,
        promo_message=promo_message,
        gift_card_balance=gift_card_balance,
        shipping_rate=shipping_rate,
        currency=cart.currency,
    )
    figures = quote_figures(quote)
    updates.update({k: v for k, v in figures.items() if getattr(attempt, k) != v})
    if updates and attempt.state == CheckoutAttempt.State.COLLECTING:
        written = CheckoutAttempt.objects.filter(
            pk=attempt.pk, state=CheckoutAttempt.State.COLLECTING
        ).update(**updates)
        if written:
            for name, value in updates.items():
                setattr(attempt, name, value)
    return quote


# --- Quote cache --------------------------------------------------------------------------

QUOTE_CACHE_SECONDS = 120
_VERSION_SECONDS = 60 * 60 * 24


@dataclass(frozen=True)
class CachedQuote:
    """A quote as last computed for a cart, with the rates it was priced from."""

    token: str  # the cart version it was computed at
    fingerprint: tuple[Any, ...]  # the attempt it was computed for
    quote: Quote
    rates: tuple[ShippingRate, ...] | None  # None: not fetched (no address, or failed)
    item_count: int
    stamp: str  # names this computation (what a page rendered from it was rendered from)
    # When the API's answers it was computed from are too old to reuse (time.time()); an
    # entry cached before this field existed reads 0, as expired.
    expires_at: float = 0.0


def _version_key(cart_id: str) -> str:
    return f"checkout:cartv:{cart_id}"


def _quote_key(cart_id: str) -> str:
    return f"checkout:quote:{cart_id}"


def attempt_fingerprint(attempt: CheckoutAttempt) -> tuple[Any, ...]:
    """Return what a cached quote must have been computed for to be reused."""
    return (
        attempt.pk,
        attempt.updated_at.isoformat() if attempt.updated_at else "",
        attempt.state,
        attempt.promo_code,
        attempt.gift_card_code,
        str(attempt.shipping_rate.get("service_code") or ""),
    )


def cart_changed(*, cart_id: str) -> None:
    """Invalidate the cached quote of a cart; call after every change to its lines."""
    try:
        cache.set(_version_key(cart_id), uuid.uuid4().hex, _VERSION_SECONDS)
        cache.delete(_quote_key(cart_id))
    except Exception:  # a cache outage must not stop a cart change
        logger.exception("cart %s: could not invalidate the cached quote", cart_id)


def quote_cache_get(*, cart_id: str) -> tuple[str, CachedQuote | None]:
    """Return the cart's current version token and its cached quote (None if stale)."""
    try:
        values = cache.get_many([_version_key(cart_id), _quote_key(cart_id)])
        token = values.get(_version_key(cart_id))
        if token is None:
            cache.add(_version_key(cart_id), uuid.uuid4().hex, _VERSION_SECONDS)
            return str(cache.get(_version_key(cart_id)) or ""), None
    except Exception:
        logger.exception("cart %s: quote cache unavailable", cart_id)
        return "", None
    entry = values.get(_quote_key(cart_id))
    if not isinstance(entry, CachedQuote) or entry.token != token:
        return str(token), None
    return str(token), entry


def quote_shown(*, attempt: CheckoutAttempt) -> Quote | None:
    """Return the cached quote of the attempt's cart if it was computed for the attempt as
    it is now (what its payment page showed), else None."""
    _token, cached = quote_cache_get(cart_id=attempt.cart_id)
    if cached is None or cached.fingerprint != attempt_fingerprint(attempt):
        return None
    return cached.quote


def quote_cache_set(
    *,
    cart_id: str,
    token: str,
    attempt: CheckoutAttempt,
    quote: Quote,
    rates: Sequence[ShippingRate] | None,
    item_count: int,
) -> str:
    """Keep a freshly computed quote for the next GET; return its stamp ("" if not kept)."""
    if not token:
        return ""
    entry = CachedQuote(
        token=token,
        fingerprint=attempt_fingerprint(attempt),
        quote=quote,
        rates=tuple(rates) if rates is not None else None,
        item_count=item_count,
        stamp=uuid.uuid4().hex,
        expires_at=time.time() + QUOTE_CACHE_SECONDS,
    )
    return _quote_cache_put(cart_id, entry)


def quote_cache_derive(
    *,
    cart_id: str,
    cached: CachedQuote,
    attempt: CheckoutAttempt,
    quote: Quote,
    rates: Sequence[ShippingRate],
) -> str:
    """Keep ``quote``, worked out from ``cached`` with no API call, as the quote of
    ``attempt`` as it is now; return its stamp ("" if not kept).

    Its figures are as old as the answers ``cached`` was computed from, so it is kept
    only for what is left of ``cached``'s lifetime. If the cart changed meanwhile, its
    version no longer matches and the entry is never read.
    """
    if cached.expires_at - time.time() < 1:
        return ""
    entry = replace(
        cached,
        fingerprint=attempt_fingerprint(attempt),
        quote=quote,
        rates=tuple(rates),
        stamp=uuid.uuid4().hex,
    )
    return _quote_cache_put(cart_id, entry)


def _quote_cache_put(cart_id: str, entry: CachedQuote) -> str:
    seconds = int(entry.expires_at - time.time())
    if seconds < 1:
        return ""
    try:
        cache.set(_quote_key(cart_id), entry, seconds)
    except Exception:
        logger.exception("cart %s: could not cache the quote", cart_id)
        return ""
    return entry.stamp


def promo_normalize(code: str) -> str:
    """Return the promo code as the API takes it; raise if it is empty."""
    normalized = code.strip().upper()
    if not normalized:
        raise InvalidPromoCode(_("Enter a promo code."), code="promo_empty", field="code")
    return normalized


def promo_validate(*, attempt: CheckoutAttempt, code: str, answers: Round | None = None) -> str:
    """Return the normalized code if the API accepts it for this cart; else raise.

    ``answers``: a round that already asked ``validate-promo`` for this code.
    """
    normalized = promo_normalize(code)
    promo: PromoValidation = (
        answers.result("promo")
        if answers is not None and "promo" in answers
        else get_spectra_client().validate_promo(
            attempt.cart_id, code=normalized, email=attempt.email
        )
    )
    if not promo.valid:
        raise InvalidPromoCode(
            promo.message or _("This promo code does not apply to your order."),
            code="invalid_promo_code",
            field="code",
        )
    return promo.code or normalized


def gift_card_normalize(code: str) -> str:
    """Return the gift card code as the API takes it; raise if it is empty."""
    normalized = "".join(code.split()).replace("-", "").upper()
    if not normalized:
        raise InvalidGiftCard(_("Enter a gift card code."), code="gift_card_empty", field="code")
    return normalized


def gift_card_validate(*, code: str, answers: Round | None = None) -> str:
    """Return the normalized code if the card has a usable balance; else raise.

    ``answers``: a round that already asked ``validate-gift-card`` for this code.
    """
    normalized = gift_card_normalize(code)
    card: GiftCardBalance = (
        answers.result("gift_card")
        if answers is not None and "gift_card" in answers
        else get_spectra_client().validate_gift_card(normalized)
    )
    if not card.valid or card.balance <= ZERO:
        message = _gift_card_message(card.status, str(card.raw.get("message") or ""))
        raise InvalidGiftCard(message, code="invalid_gift_card", field="code")
    return normalized
