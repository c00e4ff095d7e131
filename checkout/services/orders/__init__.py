"""Placing an order: the state machine of one checkout attempt, from details to an order.

One module per part of it: ``attempts`` (the attempt, its steps and state moves),
``paying``, ``placement``, ``lookup``, ``recording``, ``capture``, ``recovery``,
``timeline``, and ``results``
(what they answer with). Callers use this package's names: ``orders.attempt_pay(...)``.

States (``CheckoutAttempt.State``)::

    collecting --pay--> payment_authorized --claim--> submitting --> placed
        ^                      |                          |   \\--> needs_review (contradiction,
        |                      |                          |         or outcome still unknown)
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
  connection, a refusal code we do not know) is resolved by the 409 answer or the
  order list (``lookup``: by cart, PaymentIntent, or email, total and items within a
  time window): an order found is adopted; only when the lookup proved there is none
  (and the API is not still working on the first post) is the post repeated, once.
  Still unknown: the attempt stays ``submitting`` for ``attempt_recover``, its hold
  neither captured nor released; past ``CHECKOUT_UNKNOWN_OUTCOME_WINDOW`` it goes to
  staff (``needs_review``, ``outcome_unknown``) with the lookup's evidence.
- Once the order exists, ``capture`` verifies the PaymentIntent (and captures it when
  the API did not, or when ``CHECKOUT_CAPTURE_BY = "app"``).
- At most one local ``Order`` per attempt (a OneToOne constraint) and per Spectra id
  (unique), so whichever of placement, recovery and the webhook sync records an order
  first, the others land on the same row.
- Every step is on the attempt's timeline (``OrderEvent``), including each API call
  made for it (method, path, status, duration); the rows move to the order once placed.
"""

from __future__ import annotations

from checkout.services.orders.attempts import (
    CheckoutSnapshot,
    attempt_apply_gift_card,
    attempt_apply_promo,
    attempt_choose_shipping,
    attempt_for_cart,
    attempt_in_session,
    attempt_next_step,
    attempt_rates_shown,
    attempt_remember_language,
    attempt_remove_gift_card,
    attempt_remove_promo,
    attempt_save_information,
    attempt_set_billing,
    attempt_shipping_rates,
    checkout_snapshot,
)
from checkout.services.orders.capture import order_payment_verify, orders_to_verify
from checkout.services.orders.lookup import OrderLookup, attempts_waiting_for, order_lookup
from checkout.services.orders.paying import (
    attempt_pay,
    attempt_setup_intent_create,
    attempt_setup_intent_reusable,
)
from checkout.services.orders.placement import (
    order_payload,
    order_place,
)
from checkout.services.orders.recording import order_fields_from_remote, order_record
from checkout.services.orders.recovery import (
    attempt_adopt_order,
    attempt_recover,
    attempts_to_recover,
)
from checkout.services.orders.results import PaymentOutcome, PlacementResult
from checkout.services.quotes import Quote, attempt_fingerprint, attempt_quote, quote_for_rate

__all__ = [
    "CheckoutSnapshot",
    "OrderLookup",
    "PaymentOutcome",
    "PlacementResult",
    "Quote",
    "attempt_adopt_order",
    "attempt_apply_gift_card",
    "attempt_apply_promo",
    "attempt_choose_shipping",
    "attempt_fingerprint",
    "attempt_for_cart",
    "attempt_in_session",
    "attempt_next_step",
    "attempt_pay",
    "attempt_quote",
    "attempt_rates_shown",
    "attempt_recover",
    "attempt_remember_language",
    "attempt_remove_gift_card",
    "attempt_remove_promo",
    "attempt_save_information",
    "attempt_set_billing",
    "attempt_setup_intent_create",
    "attempt_setup_intent_reusable",
    "attempt_shipping_rates",
    "attempts_to_recover",
    "attempts_waiting_for",
    "checkout_snapshot",
    "order_fields_from_remote",
    "order_lookup",
    "order_payload",
    "order_payment_verify",
    "order_place",
    "order_record",
    "orders_to_verify",
    "quote_for_rate",
]
