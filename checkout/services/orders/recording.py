"""Recording a Spectra order locally: the order row, its timeline, the confirmation email
and the attempt settled, in one transaction.

An order answer may carry only the guide's response sample (``id``, ``order_number``,
``status``, ``payment_status``, ``grand_total``, ``is_test``, ``items``): what the checkout
sent in ``POST /orders`` (email, addresses, shipping method, totals from the API's own
quote) fills in what the answer leaves out.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from checkout import signals
from checkout.conf import money
from checkout.models import CheckoutAttempt, Order, OrderEvent
from checkout.services import spectra
from checkout.services.accounts import order_user_id
from checkout.services.constraints import insert_unless_conflict
from checkout.services.notifications import email_schedule
from checkout.services.orders.attempts import _clean_address
from checkout.services.orders.results import ZERO, State
from checkout.services.orders.timeline import _flush_calls, _jsonable
from checkout.timeline_text import note

logger = logging.getLogger(__name__)


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
        "currency": remote.currency,
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


def _fields_from_attempt(
    fields: dict[str, Any], remote: spectra.Order, attempt: CheckoutAttempt
) -> dict[str, Any]:
    """Fill what the API's answer left out with what the attempt sent in ``POST /orders``.

    Only for the attempt's own order (no other cart named), and only where the answer is
    silent: what the API says always wins.
    """
    if remote.cart_id and remote.cart_id != attempt.cart_id:
        return fields
    shipping = _clean_address(attempt.shipping_address) if attempt.shipping_address else {}
    billing = (
        shipping
        if attempt.billing_same_as_shipping
        else (_clean_address(attempt.billing_address) if attempt.billing_address else {})
    )
    rate = attempt.shipping_rate or {}
    known: dict[str, Any] = {
        "cart_id": attempt.cart_id,
        "email": attempt.email,
        "customer_name": str(billing.get("name") or shipping.get("name") or ""),
        "billing": {**billing, "email": attempt.email, "phone": attempt.phone} if billing else {},
        "shipping": shipping,
        "shipping_method": (
            {
                "method": str(rate.get("method") or "ground"),
                "carrier": str(rate.get("carrier") or ""),
                "service": str(rate.get("service") or ""),
                "cost": str(money(attempt.shipping_total)),
            }
            if rate
            else {}
        ),
        "promo_code": attempt.promo_code,
        # The order was placed with it as ``gateway_id``; the answer need not echo it.
        "payment_intent_id": attempt.payment_intent_id,
    }
    completed = {**fields, **{k: v for k, v in known.items() if not fields.get(k) and v}}
    # Totals the answer does not give come from the quote the shopper paid; the charge
    # is what is left after a gift card (never the whole total when a card paid part).
    for name, value in (
        ("subtotal", attempt.subtotal),
        ("shipping_total", attempt.shipping_total),
        ("discount_total", attempt.discount_total),
        ("tax_total", attempt.tax_estimate),
    ):
        if getattr(remote, name) is None:
            completed[name] = money(value)
    if remote.gift_card_total is None:
        completed["gift_card_total"] = money(attempt.gift_card_amount)
        if remote.amount_charged is None:
            completed["amount_charged"] = money(remote.grand_total) - money(
                attempt.gift_card_amount
            )
    return completed


def order_record(*, remote: spectra.Order, attempt: CheckoutAttempt | None) -> tuple[Order, bool]:
    """Get or create the local order for an API order; return it and whether it is new.

    On create (in one transaction): the order row, its timeline entry, the confirmation
    email in the ledger and outbox; ``order_placed`` is sent after commit. With an
    attempt, the attempt is marked placed (or ``needs_review`` if it contradicts the
    order) and its timeline moves to the order.
    """
    fields = order_fields_from_remote(remote)
    if attempt is not None:
        fields = _fields_from_attempt(fields, remote, attempt)
    try:
        # The usual case, a new order: its INSERT needs no savepoint of its own, because
        # a unique constraint refusing it rolls the whole transaction back.
        return _record(remote, attempt, fields, first_try=True)
    except IntegrityError:
        # Recorded meanwhile (the webhook sync, recovery), or the attempt is linked to
        # another order: nothing was written. Record again against what is there now.
        return _record(remote, attempt, fields, first_try=False)


def _record(
    remote: spectra.Order,
    attempt: CheckoutAttempt | None,
    fields: dict[str, Any],
    *,
    first_try: bool,
) -> tuple[Order, bool]:
    """``order_record``'s transaction; ``first_try``: insert the order, and let a
    conflict raise ``IntegrityError`` out of it (the caller then tries again)."""
    with transaction.atomic():
        locked_attempt = None
        if attempt is not None:
            try:
                locked_attempt = CheckoutAttempt.objects.select_for_update().get(pk=attempt.pk)
            except CheckoutAttempt.DoesNotExist:
                raise CheckoutAttempt.DoesNotExist(f"attempt {attempt.pk} is gone") from None
        # The customer's account: the attempt's signed-in user, or (opt-in) by email.
        fields["user_id"] = order_user_id(attempt=locked_attempt, email=fields["email"])
        language = locked_attempt.language if locked_attempt is not None else ""
        order = Order(attempt=locked_attempt, language=language, **fields)
        if first_try:
            order.save(force_insert=True)
            created = True
        else:
            found = (
                Order.objects.select_for_update()
                .filter(spectra_id=remote.id, is_test=remote.is_test)
                .first()
            )
            created = False
            if found is None:
                # Not recorded yet, so the conflict was the attempt's own link: when it
                # already has another order, this one is recorded unlinked (a
                # contradiction, flagged below).
                linked_elsewhere = (
                    locked_attempt is not None
                    and Order.objects.filter(attempt=locked_attempt).exists()
                )
                order = Order(
                    attempt=None if linked_elsewhere else locked_attempt,
                    language=language,
                    **fields,
                )
                created = insert_unless_conflict(order)
            if not created:
                # Recorded before or concurrently (placement, recovery or webhook sync).
                order = found or Order.objects.select_for_update().get(
                    spectra_id=remote.id, is_test=remote.is_test
                )
        if not created and (
            locked_attempt is not None
            and order.attempt_id is None
            and not Order.objects.filter(attempt=locked_attempt).exists()
        ):
            # Recorded first by the webhook sync, which knows no shopper: it now does
            # (their language, and the signed-in customer who paid).
            order.attempt = locked_attempt
            order.language = order.language or language
            order.user_id = order.user_id or locked_attempt.user_id
            order.save(update_fields=["attempt", "language", "user", "updated_at"])

        placed = [_placed_entry(order, locked_attempt)]
        if created:
            email_schedule(order=order, kind="confirmation", timeline=placed, order_is_new=True)
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


def _placed_entry(order: Order, attempt: CheckoutAttempt | None) -> OrderEvent:
    return OrderEvent(
        order=order,
        attempt=attempt,
        kind=OrderEvent.Kind.ATTEMPT,
        **note(gettext_noop("Order %(number)s placed."), number=order.order_number).fields(),
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


def _settlement(attempt: CheckoutAttempt, charged: Decimal, *, linked: bool) -> tuple[str, str]:
    """The state an attempt settles in once its order is recorded, and the problem if any.

    ``linked``: the order is this attempt's (not linked to another one). ``charged``: the
    order's ``amount_charged`` as recorded (the API's, or its total less the gift card when
    the answer does not say, as on the documented contract, which never checks the hold).
    """
    if not linked:
        return State.NEEDS_REVIEW, "order_linked_elsewhere"
    if attempt.payment_intent_id and charged > attempt.amount_due:
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
    state, problem = _settlement(
        attempt, order.amount_charged, linked=order.attempt_id == attempt.pk
    )
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
            **note(gettext_noop("Needs review: %(problem)s"), problem=problem).fields(),
            data={"problem": problem},
        )
