"""Finding the order an attempt's ``POST /orders`` may have created, from what the API offers.

Nothing documented ties an order to its cart: the answer need not echo ``cart_id``, the
order list need not filter by it, and a second post may create a second order. So the
lookup proves what it can and says so (``OrderLookup.verdict``):

- ``found``: an order that is this attempt's.
- ``none``: proof that no order exists for the attempt, so posting again is safe.
- ``unknown``: neither could be proven; the attempt waits (never posted again, its hold
  neither captured nor released) until a later lookup, the ``order.created`` webhook, or
  staff decide. ``evidence`` says what was seen.

The matching rule (docs/reliability.md repeats it). An order on the list is:

1. **ours** when it names our PaymentIntent (``gateway_id``) or our ``cart_id``, or the
   cart itself names it (``order_id`` on a locked cart);
2. **not ours** when it names another PaymentIntent or cart, is already recorded here
   (another attempt's or adopted), or contradicts a detail it carries: another billing
   email, a ``grand_total`` other than the attempt's, other items (SKU and quantity),
   or a test flag other than our key's;
3. **a candidate** otherwise: nothing contradicts it and its total matches. One candidate
   inside the window is adopted; two or more are ambiguous and left to staff.

The list is read newest first, up to ``CHECKOUT_ORDER_LOOKUP_MAX_PAGES`` pages of 100.
The window starts a minute before the attempt was submitted: an order whose
``created_at`` (or, without one, the date in its ``ORD-YYYYMMDD-NNNN`` number) is older
ends the walk. Absence is proven only when the walk covered the whole window (it reached
an older order or the end of the list) and every order in it was "not ours"; an empty
answer to ``GET /orders?cart_id=`` is proof too, whether or not the filter is honoured.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from django.utils import timezone

from checkout.conf import app_settings
from checkout.exceptions import SpectraNotFound
from checkout.models import CheckoutAttempt, Order
from checkout.services import spectra
from checkout.services.spectra import MAX_PER_PAGE

logger = logging.getLogger(__name__)

Verdict = Literal["found", "none", "unknown"]
Match = Literal["ours", "not_ours", "candidate", "older"]

# Clocks differ: an order may carry a time a little before our submission.
CLOCK_SKEW = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class OrderLookup:
    """What a lookup proved; ``evidence`` is for the timeline and for staff."""

    verdict: Verdict
    order: spectra.Order | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


def attempt_expected_total(attempt: CheckoutAttempt) -> Decimal:
    """The grand total the API should have computed for the attempt (from its own quote)."""
    return (
        attempt.subtotal + attempt.shipping_total - attempt.discount_total + attempt.tax_estimate
    ).quantize(Decimal("0.01"))


def _window_start(attempt: CheckoutAttempt) -> dt.datetime:
    started = attempt.submitted_at or attempt.authorized_at or attempt.updated_at
    return (started or timezone.now()) - CLOCK_SKEW


def _order_date(remote: spectra.Order) -> dt.date | None:
    parts = remote.order_number.split("-")
    if len(parts) >= 2 and len(parts[1]) == 8 and parts[1].isdigit():
        try:
            return dt.date(int(parts[1][:4]), int(parts[1][4:6]), int(parts[1][6:]))
        except ValueError:
            return None
    return None


def _is_older(remote: spectra.Order, start: dt.datetime) -> bool:
    if remote.created_at is not None:
        return remote.created_at < start
    day = _order_date(remote)
    # A day-stamped number only says "before the window" when its day ended before it
    # (time zones: allow a day either side).
    return day is not None and day < (start.date() - dt.timedelta(days=1))


def _items_key(items: Any) -> Counter[tuple[str, int]]:
    return Counter((str(i.sku), int(i.quantity)) for i in items if getattr(i, "sku", ""))


def order_match(
    attempt: CheckoutAttempt,
    remote: spectra.Order,
    *,
    cart_items: Counter[tuple[str, int]] | None = None,
    known: bool = False,
    start: dt.datetime | None = None,
) -> Match:
    """Classify one API order against an attempt by the module's matching rule."""
    pi = attempt.payment_intent_id
    if pi and remote.payment_intent_id == pi:
        return "ours"
    if remote.cart_id and remote.cart_id == attempt.cart_id:
        # Our cart, maybe with another payment: placement decides (cart already ordered).
        return "ours"
    if start is not None and _is_older(remote, start):
        return "older"
    if known or (pi and remote.payment_intent_id) or remote.cart_id:
        # Recorded here already, or it names another payment or cart.
        return "not_ours"
    if remote.email and attempt.email and remote.email.lower() != attempt.email.lower():
        return "not_ours"
    if remote.grand_total != attempt_expected_total(attempt):
        return "not_ours"
    if cart_items and remote.items and _items_key(remote.items) != cart_items:
        return "not_ours"
    return "candidate"


def _cart_evidence(
    client: spectra.SpectraClient, attempt: CheckoutAttempt
) -> tuple[spectra.Order | None, Counter[tuple[str, int]] | None]:
    """The order the cart names (if it does), and the cart's items for matching."""
    try:
        cart = client.get_cart(attempt.cart_id)
    except SpectraNotFound:
        return None, None
    if cart.order_id is not None:
        try:
            return client.get_order(cart.order_id), _items_key(cart.items)
        except SpectraNotFound:
            pass
    return None, _items_key(cart.items)


def order_lookup(*, attempt: CheckoutAttempt, client: spectra.SpectraClient) -> OrderLookup:
    """Find the order the attempt's post may have created (see the module docstring).

    Raises ``SpectraError`` when the API cannot be read: nothing was proven.
    """
    page = client.list_orders(cart_id=attempt.cart_id, per_page=MAX_PER_PAGE)
    if not page.items and page.page == 1:
        # Filter honoured: none for this cart. Filter ignored: no order at all.
        return OrderLookup("none", evidence={"listed": 0})
    cart_order, cart_items = _cart_evidence(client, attempt)
    if cart_order is not None and order_match(attempt, cart_order) != "not_ours":
        return OrderLookup("found", cart_order, {"via": "cart"})
    start = _window_start(attempt)
    seen: list[spectra.Order] = []
    candidates: list[spectra.Order] = []
    covered = False
    pages = 0
    while True:
        pages += 1
        # Orders are keyed by environment and id (a test and a live order may share an id).
        known = set(
            Order.objects.filter(spectra_id__in=[o.id for o in page.items]).values_list(
                "spectra_id", "is_test"
            )
        )
        for remote in page.items:
            verdict = order_match(
                attempt,
                remote,
                cart_items=cart_items,
                known=(remote.id, remote.is_test) in known,
                start=start,
            )
            if verdict == "ours":
                return OrderLookup("found", remote, {"via": "list", "pages": pages})
            if verdict == "older":
                covered = True
                break
            seen.append(remote)
            if verdict == "candidate":
                candidates.append(remote)
        if covered:
            break
        if not page.has_next:
            covered = True
            break
        if pages >= app_settings.ORDER_LOOKUP_MAX_PAGES:
            break
        page = client.list_orders(
            cart_id=attempt.cart_id, per_page=MAX_PER_PAGE, page=page.page + 1
        )
    evidence: dict[str, Any] = {
        "pages": pages,
        "orders_in_window": len(seen),
        "window_covered": covered,
        "expected_total": str(attempt_expected_total(attempt)),
        "candidates": [
            {"id": o.id, "order_number": o.order_number, "grand_total": str(o.grand_total)}
            for o in candidates[:10]
        ],
    }
    if len(candidates) == 1:
        evidence["via"] = "match"
        return OrderLookup("found", candidates[0], evidence)
    if candidates or not covered:
        logger.warning(
            "attempt %s: order lookup undecided (%s candidates, covered=%s)",
            attempt.public_id,
            len(candidates),
            covered,
        )
        return OrderLookup("unknown", None, evidence)
    return OrderLookup("none", None, evidence)


def attempts_waiting_for(
    remote: spectra.Order, *, settled_before: dt.datetime
) -> list[CheckoutAttempt]:
    """Attempts waiting on an unknown outcome that ``remote`` may settle (for webhooks).

    Matched by the same rule as the list, without the cart's items (no API call here).
    An attempt named by PaymentIntent or cart matches at once; one matched only by its
    details must have been submitted before ``settled_before`` (its own request has given
    up), so a webhook never hands a shopper's order to another shopper still placing one.
    """
    waiting = CheckoutAttempt.objects.filter(
        state__in=(CheckoutAttempt.State.SUBMITTING, CheckoutAttempt.State.NEEDS_REVIEW),
        submitted_at__isnull=False,
        order__isnull=True,
    ).order_by("submitted_at")[:50]
    ours: list[CheckoutAttempt] = []
    candidates: list[CheckoutAttempt] = []
    for attempt in waiting:
        if attempt.state == CheckoutAttempt.State.NEEDS_REVIEW and (
            attempt.failure_code != "outcome_unknown"
        ):
            continue
        verdict = order_match(attempt, remote, start=_window_start(attempt))
        if verdict == "ours":
            ours.append(attempt)
        elif verdict == "candidate" and (attempt.submitted_at or settled_before) < settled_before:
            candidates.append(attempt)
        elif verdict == "candidate":
            return []  # a look-alike still in flight: ambiguous, the list decides later
    if ours:
        return ours[:1]
    return candidates if len(candidates) == 1 else []
