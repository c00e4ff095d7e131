"""Floors other than hello: hand-written views that do the least a target must do.
Never routed outside the bench stack.

``write_floor`` is the goals' own anchor, "one PostgreSQL write" (0.25 of hello where
the goals were set): a POST through the same middleware that inserts one small row and
answers. Measured in every run, it shows whether this machine and stack price a write as
the goals assumed, so a missed goal can be told apart from a slow machine.

``place_floor`` is the least a placement can do here. The place-order POST's goal (0.08
of hello) is set against that anchor, but placing an order cannot be one write: it
claims the attempt before calling the API (so a double click cannot order twice), calls
``POST /orders``, records the order after, and forgets the cart in the session.
``place_floor`` does exactly that and nothing else, in the same stack (production
middleware, session engine, CSRF), with the same libraries the checkout uses (psycopg
through Django's connection, ``requests``):

- the session read and, at the end, its write (the cart forgotten);
- the claim: one ``UPDATE ... RETURNING`` for the attempt this session owns;
- ``POST /orders`` to the stub over a kept-alive ``requests`` session, built as the
  checkout's client builds its own (``checkout.services.http.service_session``);
- the record: one statement (the attempt settled and one timeline row).

What it leaves out, and the checkout cannot: the rate limit, the payload built from the
attempt's addresses and rate, the answer's validation, the order row, the confirmation
email's ledger and outbox rows, the full timeline, errors of every kind. So the real
view's ratio stays below this one; ``make bench`` measures both in the same run, and the
gap between them is what our own code costs.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from checkout.conf import app_settings
from checkout.services.cart import session_owner
from checkout.services.http import service_session

# The checkout's own kind of session (the environment's proxy settings read once, not on
# every call), so the floor pays no more for its call than the checkout's client does.
_http = service_session([settings.CHECKOUT_SPECTRA_API_BASE])

# The claim and the record, as the checkout's statements do them (see orders.py).
_CLAIM = (
    "UPDATE checkout_checkoutattempt SET state = 'submitting', submitted_at = now(), "
    "updated_at = now() WHERE public_id = %s AND owner = %s "
    "AND state = 'payment_authorized' "
    "RETURNING id, cart_id, email, phone, shipping_address, payment_intent_id"
)
_RECORD = (
    "WITH settled AS (UPDATE checkout_checkoutattempt SET state = 'placed', "
    "updated_at = now() WHERE id = %s AND state = 'submitting' RETURNING id) "
    "INSERT INTO checkout_orderevent "
    "(attempt_id, kind, message, message_id, message_params, data, created_at) "
    "SELECT id, 'attempt', %s, %s, %s, %s, now() FROM settled"
)


@require_POST
def place_floor(request: HttpRequest) -> JsonResponse:
    """Claim the session's paid attempt, post the order, verify and capture the card hold,
    record it, forget the cart."""
    public_id = request.session.get("checkout_attempt")
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, [uuid.UUID(str(public_id)), session_owner(request)])
        claimed = cursor.fetchone()
    if claimed is None:
        return JsonResponse({"status": "rejected"}, status=409)
    attempt_id, cart_id, email, phone, address, intent = claimed
    address = json.loads(address) if isinstance(address, str) else address
    payload: dict[str, Any] = {  # the checkout's body, its size and shape
        "cart_id": cart_id,
        "billing": {**address, "email": email, "phone": phone},
        "shipping": address,
        "shipping_method": {
            "method": "ground",
            "carrier": "UPS",
            "service": "Ground",
            "cost": 8.99,
        },
        "payment": {"method": "stripe", "gateway_id": intent},
    }
    answer = _http.post(
        f"{settings.CHECKOUT_SPECTRA_API_BASE}/orders",
        json=payload,
        headers={"Authorization": f"Bearer {settings.CHECKOUT_SPECTRA_API_KEY}"},
        timeout=(3.05, 10),
    )
    order = answer.json()["data"]
    # Any placement now verifies its card hold and captures it (issue 16): two Stripe calls.
    stripe = f"{app_settings.STRIPE_API_BASE}/v1/payment_intents/{intent}"
    auth = {"Authorization": f"Bearer {app_settings.STRIPE_SECRET_KEY}"}
    _http.get(stripe, headers=auth, timeout=(3.05, 10))
    _http.post(f"{stripe}/capture", headers=auth, timeout=(3.05, 10))
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD,
            [
                attempt_id,
                f"Order {order['order_number']} placed.",
                # The entry as the app writes it (checkout.timeline_text): id and parameters.
                "Order %(number)s placed.",
                json.dumps({"number": order["order_number"]}),
                json.dumps({"id": order["id"]}),
            ],
        )
    request.session.pop("checkout_cart_id", None)
    request.session.pop("checkout_cart_count", None)
    return JsonResponse({"status": "placed", "redirect": "/"})


@require_POST
def write_floor(request: HttpRequest) -> JsonResponse:
    """Insert one row (autocommit: one statement, one commit) and answer."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_write (note) VALUES (%s)", ["one write"])
    return JsonResponse({"status": "written"})
