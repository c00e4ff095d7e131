"""Orders after they are placed: reading them, tracking, and moving them through their
statuses (firing the webhooks a status change sends)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from checkout.testing.sandbox.config import KeySpec
from checkout.testing.sandbox.records import ZERO, ApiError, Order, iso
from checkout.testing.sandbox.state import StoreState

logger = logging.getLogger(__name__)

ORDER_STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled", "refunded")
TRANSITIONS: dict[str, set[str]] = {
    "pending": {"processing", "cancelled"},
    "processing": {"shipped", "cancelled"},
    "shipped": {"delivered"},
    "delivered": {"refunded"},
    "cancelled": set(),
    "refunded": set(),
}
FORWARD_PATH = ["pending", "processing", "shipped", "delivered", "refunded"]
STATUS_EVENTS = {
    "shipped": "order.shipped",
    "delivered": "order.delivered",
    "cancelled": "order.cancelled",
}
Refund = Callable[[str, Decimal], None]


class OrdersMixin(StoreState):
    """Reading orders and changing their status; the warehouse's walk forward."""

    def _visible(self, order: Order, key: KeySpec) -> bool:
        return key.is_test or not order.is_test

    def _order(self, order_id: int, key: KeySpec | None) -> Order:
        order = self.orders.get(order_id)
        if order is None or (key is not None and not self._visible(order, key)):
            raise ApiError(404, "order_not_found", "No order with this id.")
        return order

    def get_order(self, order_id: int, key: KeySpec) -> dict[str, Any]:
        with self.lock:
            return self._answer(self._order(order_id, key))

    def list_orders(
        self,
        key: KeySpec,
        status: str | None,
        cart_id: str | None,
        updated_since: datetime | None,
    ) -> list[dict[str, Any]]:
        statuses = {s.strip() for s in status.split(",")} if status else None
        with self.lock:
            orders = [
                o
                for o in self.orders.values()
                if self._visible(o, key)
                and (statuses is None or o.status in statuses)
                # The cart_id filter is [ours]; the documented contract ignores it.
                and (cart_id is None or self.documented or o.cart_id == cart_id)
                and (updated_since is None or o.updated_at >= updated_since)
            ]
            orders.sort(key=lambda o: (o.created_at, o.id), reverse=True)
            return [self._answer(o) for o in orders]

    def set_tracking(
        self, order_id: int, key: KeySpec | None, tracking_number: str, carrier: str
    ) -> dict[str, Any]:
        with self.lock:
            order = self._order(order_id, key)
            if order.status in {"delivered", "cancelled", "refunded"}:
                raise ApiError(
                    409, "order_closed", f"Tracking cannot change on a {order.status} order."
                )
            order.tracking_number = tracking_number
            order.shipping_carrier = carrier
            order.updated_at = self.now()
            return self._answer(order)

    def change_status(
        self,
        order_id: int,
        key: KeySpec | None,
        new_status: str,
        refund: Refund | None = None,
    ) -> dict[str, Any]:
        """Move one step; fire ``order.status_changed`` and the specific event."""
        if new_status not in ORDER_STATUSES:
            raise ApiError(
                422,
                "validation_error",
                "Unknown status.",
                fields={"status": [f"Must be one of: {', '.join(ORDER_STATUSES)}."]},
            )
        with self.lock:
            order = self._order(order_id, key)
            if new_status not in TRANSITIONS[order.status]:
                raise ApiError(
                    409,
                    "invalid_transition",
                    f"An order cannot move from {order.status} to {new_status}.",
                    extra={"current_status": order.status},
                )
            if new_status == "shipped" and not order.tracking_number:
                raise ApiError(
                    409,
                    "tracking_required",
                    "Set tracking with POST /orders/{id}/tracking before marking shipped.",
                )
            previous = order.status
            order.status = new_status
            order.updated_at = self.now()
            order.history.append({"status": new_status, "at": iso(order.updated_at)})
            charged = order.amount_charged
            pi = order.payment_intent_id
            if new_status in {"cancelled", "refunded"}:
                self._release(order)
                order.payment_status = "voided" if new_status == "cancelled" else "refunded"
            data = self._answer(order)
            self._fire("order.status_changed", order, previous)
            if new_status in STATUS_EVENTS:
                self._fire(STATUS_EVENTS[new_status], order)
            # Under the documented contract the sandbox never captured, so it refunds nothing.
            captured = not self.documented
        if (
            refund is not None
            and captured
            and new_status in {"cancelled", "refunded"}
            and pi
            and charged
        ):
            try:
                refund(pi, charged)
            except Exception:
                logger.exception("order %s: Stripe refund failed", order.order_number)
        return data

    def _release(self, order: Order) -> None:
        for item in order.items:
            variant = self.variants.get(int(item["variant_id"]))
            if variant is not None:
                variant.quantity_available += int(item["quantity"])
        if order.gift_card_code and order.gift_card_total > ZERO:
            card = self.gift_cards.get(order.gift_card_code)
            if card is not None:
                card.balance += order.gift_card_total
                if card.status == "redeemed":
                    card.status = "active"

    def advance(
        self,
        order_id: int,
        target: str,
        tracking_number: str | None,
        carrier: str | None,
        refund: Refund | None = None,
    ) -> dict[str, Any]:
        """Walk an order forward to ``target`` like the merchant's warehouse would."""
        if target not in ORDER_STATUSES:
            raise ApiError(422, "validation_error", "Unknown status.", fields={"to": ["?"]})
        with self.lock:
            order = self._order(order_id, None)
            if target == "cancelled":
                steps = ["cancelled"]
            elif target in FORWARD_PATH and order.status in FORWARD_PATH:
                start = FORWARD_PATH.index(order.status)
                steps = FORWARD_PATH[start + 1 : FORWARD_PATH.index(target) + 1]
            else:
                steps = [target]
            if not steps:
                raise ApiError(
                    409,
                    "invalid_transition",
                    f"An order cannot move from {order.status} to {target}.",
                )
        data: dict[str, Any] = {}
        for step in steps:
            if step == "shipped":
                with self.lock:
                    order = self._order(order_id, None)
                    if tracking_number or not order.tracking_number:
                        chosen_carrier = carrier or order.shipping_method.get("carrier", "UPS")
                        number = tracking_number or fake_tracking(chosen_carrier, order.id)
                        self.set_tracking(order_id, None, number, str(chosen_carrier))
            data = self.change_status(order_id, None, step, refund)
        return data


def fake_tracking(carrier: str, order_id: int) -> str:
    """A tracking number in the carrier's format, made up from the order id."""
    if carrier.upper() == "UPS":
        return f"1Z999SBX{order_id:010d}"
    return f"7{order_id:011d}"
