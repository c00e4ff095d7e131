"""Customers with accounts on the merchant's site: which orders are a user's, the details a
signed-in customer starts the information step with, the guest order lookup, and keeping
a checkout across sign-in and sign-out.

An attempt remembers the user signed in when the shopper last paid or placed its order
(``attempt_set_user``); the order inherits it when it is recorded. A guest order joins an
account only when the site opts in with ``CHECKOUT_LINK_GUEST_ORDERS_BY_EMAIL``: the
account is then the one active user whose ``email`` equals the order's (case ignored).
The app cannot know whether the site confirmed that address; a site that lets anyone put
any address on an account must leave the setting off, or a stranger could claim a
shopper's orders by registering with their address.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import Q, QuerySet
from django.dispatch import receiver
from django.http import HttpRequest

from checkout.addresses import ADDRESS_KEYS as ADDRESS_FIELDS
from checkout.conf import app_settings
from checkout.models import CheckoutAttempt, Order
from checkout.services.outbox import outbox_enqueue
from checkout.services.relay import outbox_kick_on_commit

logger = logging.getLogger(__name__)

ORDER_LOOKUP_TASK = "checkout.tasks.order_lookup_email"
# The checkout's own session keys all start with this (services.cart, views.common).
SESSION_PREFIX = "checkout_"


def _user_id(user: Any) -> int | None:
    """The id of a signed-in user; None for an anonymous one (or none at all)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return int(user.pk)


def attempt_set_user(*, attempt: CheckoutAttempt, user: Any) -> CheckoutAttempt:
    """Record who is signed in while the attempt is still open (no write when unchanged).

    Called when the shopper pays and places: whoever is signed in then owns the order,
    so signing in or out halfway through a checkout only changes this.
    """
    user_id = _user_id(user)
    if attempt.user_id == user_id:
        return attempt
    # Once submitting, the order may exist already: it keeps the user it was placed with.
    if CheckoutAttempt.objects.filter(
        pk=attempt.pk,
        state__in=(CheckoutAttempt.State.COLLECTING, CheckoutAttempt.State.PAYMENT_AUTHORIZED),
    ).update(user_id=user_id):
        attempt.user_id = user_id
    return attempt


def guest_order_user_id(*, email: str) -> int | None:
    """The account a guest order with ``email`` joins, when the site opts in; else None.

    Only an unambiguous match counts: exactly one active user with that address.
    """
    email = (email or "").strip()
    if not email or not app_settings.LINK_GUEST_ORDERS_BY_EMAIL:
        return None
    User = get_user_model()
    field = User.get_email_field_name()
    ids = list(
        User._default_manager.filter(**{f"{field}__iexact": email, "is_active": True}).values_list(
            "pk", flat=True
        )[:2]
    )
    return int(ids[0]) if len(ids) == 1 else None


def order_user_id(*, attempt: CheckoutAttempt | None, email: str) -> int | None:
    """The account a newly recorded order belongs to (``order_record`` asks)."""
    if attempt is not None and attempt.user_id is not None:
        return int(attempt.user_id)
    return guest_order_user_id(email=email)


def orders_of_user(*, user: Any) -> QuerySet[Order]:
    """The user's orders, newest first.

    With ``CHECKOUT_LINK_GUEST_ORDERS_BY_EMAIL``, guest orders carrying the user's email
    count too, including those placed before the account existed or the setting was on.
    """
    user_id = _user_id(user)
    if user_id is None:
        return Order.objects.none()
    mine = Q(user_id=user_id)
    email = str(getattr(user, user.get_email_field_name(), "") or "").strip()
    if email and guest_order_user_id(email=email) == user_id:
        mine |= Q(user__isnull=True, email__iexact=email)
    return (
        Order.objects.filter(mine)
        .defer("raw", "items", "billing", "shipping_method")
        .order_by("-placed_at", "-id")
    )


def addresses_recent(*, user: Any, limit: int = 3) -> list[dict[str, str]]:
    """The user's last-used shipping addresses (most recent first, no repeats).

    Each is the address as the information step saved it, with the phone used with it.
    """
    user_id = _user_id(user)
    if user_id is None:
        return []
    found: list[dict[str, str]] = []
    seen: set[tuple[str, ...]] = set()
    attempts = (
        CheckoutAttempt.objects.filter(user_id=user_id, state=CheckoutAttempt.State.PLACED)
        .order_by("-finished_at", "-id")
        .values_list("shipping_address", "phone")[: limit * 4]
    )
    for address, phone in attempts:
        if not isinstance(address, dict) or not address.get("address1"):
            continue
        entry = {name: str(address.get(name) or "") for name in ADDRESS_FIELDS}
        key = tuple(entry[name].strip().lower() for name in ADDRESS_FIELDS)
        if key in seen:
            continue
        seen.add(key)
        entry["phone"] = str(phone or "")
        found.append(entry)
        if len(found) == limit:
            break
    return found


def information_initial(
    *,
    attempt: CheckoutAttempt,
    user: Any,
    addresses: list[dict[str, str]],
    address_index: int | None = None,
) -> dict[str, str]:
    """What the information step's form starts with.

    The attempt's own details first; for a signed-in customer, the account's email and a
    last-used address (``address_index`` into ``addresses``, from ``addresses_recent``,
    else the latest one) fill what the attempt does not have yet. A chosen address
    replaces the attempt's.
    """
    initial: dict[str, str] = {
        name: str(value) for name, value in (attempt.shipping_address or {}).items() if value
    }
    if attempt.email:
        initial["email"] = attempt.email
    if attempt.phone:
        initial["phone"] = attempt.phone
    if _user_id(user) is None:
        return initial
    email = str(getattr(user, user.get_email_field_name(), "") or "")
    if email and "email" not in initial:
        initial["email"] = email
    if address_index is not None and 0 <= address_index < len(addresses):
        chosen = addresses[address_index]
        initial.update({name: value for name, value in chosen.items() if value})
        for name in ADDRESS_FIELDS:
            if not chosen.get(name):
                initial.pop(name, None)
    elif addresses and not attempt.shipping_address:
        initial.update({k: v for k, v in addresses[0].items() if v and k not in initial})
    return initial


# --- The guest order lookup ----------------------------------------------------------------


def order_lookup_request(*, email: str, order_number: str) -> None:
    """Queue the lookup: the task emails the status link if the order matches.

    The request does the same work whether or not anything matches (one outbox row), so
    neither its answer nor its timing tells a visitor which orders exist.
    """
    with transaction.atomic():
        outbox_enqueue(
            task_name=ORDER_LOOKUP_TASK,
            email=email.strip(),
            order_number=order_number.strip().upper(),
        )
        outbox_kick_on_commit()


def order_lookup_match(*, email: str, order_number: str) -> Order | None:
    """The order with this number whose email is ``email`` (case ignored), else None."""
    email, number = email.strip(), order_number.strip()
    if not email or not number:
        return None
    # A number is unique per environment: a live order wins over a test one.
    return (
        Order.objects.defer("raw")
        .filter(order_number__iexact=number, email__iexact=email)
        .order_by("is_test", "-placed_at")
        .first()
    )


def order_lookup_email_send(*, email: str, order_number: str) -> bool:
    """Email the order's signed status link to ``email`` when they match; True if sent.

    Sent to the address the visitor typed, which is the order's own: the link reaches
    only whoever can already read that mailbox.
    """
    from checkout.services.notifications import ORDER_LOOKUP_EMAIL, email_send_direct

    order = order_lookup_match(email=email, order_number=order_number)
    if order is None:
        logger.info("order lookup: no order matched (nothing sent)")
        return False
    email_send_direct(order=order, kind=ORDER_LOOKUP_EMAIL, to=order.email)
    logger.info("order %s: status link sent on a lookup", order.order_number)
    return True


# --- Signing out mid-checkout -------------------------------------------------------------


@receiver(user_logged_out, dispatch_uid="checkout.keep_checkout_on_logout")
def _keep_checkout_on_logout(
    sender: Any, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Carry the checkout's session keys into the session that follows a sign-out.

    ``django.contrib.auth.logout`` sends this signal and then flushes the session, which
    would drop the cart and the checkout with everything else. Only this request's own
    session object is touched, and only its next ``flush()``: it flushes as before and
    then gets the checkout's keys back (the cart, the attempt's owner token), so the
    shopper signs out and carries on as a guest. The account's data stays behind.
    """
    session: SessionBase | None = getattr(request, "session", None)
    if session is None:
        return
    kept = {key: session[key] for key in list(session.keys()) if key.startswith(SESSION_PREFIX)}
    if not kept:
        return
    flush = session.flush

    def flush_keeping_checkout() -> None:
        flush()
        del session.flush  # back to the class's own
        session.update(kept)

    session.flush = flush_keeping_checkout  # type: ignore[method-assign]
