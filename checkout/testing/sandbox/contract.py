"""What each contract shows of an order: the answer's fields, webhook data, customer emails.

The default contract answers with the full order everywhere ([ours]). The documented one
gives only what the docs show: the fields of the "Place an Order" response sample, and
webhook ``data`` in the shape of the docs' own examples (``order.delivered`` carries only
``id``, ``order_number``, ``tracking_number``, ``shipping_carrier`` and ``delivered_at``).
The other events follow the same pattern: who, which order, and what the event is about.
"""

from __future__ import annotations

from typing import Any

from checkout.testing.sandbox.records import Order, iso

# The "Place an Order" guide's response sample, field for field.
DOCUMENTED_ORDER_FIELDS = (
    "id",
    "order_number",
    "status",
    "payment_status",
    "grand_total",
    "is_test",
    "items",
)

# Which customer email Spectra sends for a live order's event (test orders send none
# [doc]); which ones it sends is not documented, so the documented contract assumes the
# usual set, each once per order and kind.
CUSTOMER_EMAIL_FOR_EVENT = {
    "order.created": "order_confirmation",
    "order.shipped": "order_shipped",
    "order.delivered": "order_delivered",
    "order.cancelled": "order_cancelled",
}
CUSTOMER_EMAIL_FOR_STATUS = {"refunded": "order_refunded"}


def order_answer(order: Order, documented: bool) -> dict[str, Any]:
    """The order as ``POST``/``GET /orders`` and the write endpoints answer it."""
    data = order.as_dict()
    if not documented:
        return data
    return {name: data[name] for name in DOCUMENTED_ORDER_FIELDS}


def event_data(
    event: str, order: Order, documented: bool, previous_status: str | None = None
) -> dict[str, Any]:
    """The ``data`` object of one webhook delivery about ``order``."""
    if not documented:
        data = order.as_dict()
        if previous_status is not None:
            data["previous_status"] = previous_status
        return data
    at = iso(order.updated_at)
    head = {"id": order.id, "order_number": order.order_number}
    if event == "order.created":
        return order_answer(order, documented=True)
    if event == "order.status_changed":
        return {**head, "status": order.status, "previous_status": previous_status}
    if event == "order.shipped":
        return {
            **head,
            "tracking_number": order.tracking_number,
            "shipping_carrier": order.shipping_carrier,
            "shipped_at": at,
        }
    if event == "order.delivered":
        return {
            **head,
            "tracking_number": order.tracking_number,
            "shipping_carrier": order.shipping_carrier,
            "delivered_at": at,
        }
    if event == "order.cancelled":
        return {**head, "cancelled_at": at}
    return head
