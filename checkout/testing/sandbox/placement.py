"""Placing an order (``POST /orders``): validate, price, reserve, verify the payment, commit.

Placing reserves stock, the gift-card balance and promo usage under the lock, talks to
Stripe *outside* it, then either commits the order or releases the reservations, so
racing orders never oversell or overdraw.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from checkout.testing.sandbox.config import KeySpec
from checkout.testing.sandbox.pricing import PricingMixin, find_service
from checkout.testing.sandbox.records import (
    ZERO,
    ApiError,
    Cart,
    Order,
    PaymentCheck,
    iso,
    money,
    normalize_gift_card,
    q,
)
from checkout.testing.sandbox.seed import GiftCard, Promo, ShippingService
from checkout.testing.sandbox.validation import clean_address, validate_order_body

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderRequest:
    """A valid ``POST /orders`` body, with its codes normalized."""

    body: dict[str, Any]
    cart_id: str
    email: str
    promo_code: str | None
    gift_code: str | None
    gateway_id: str

    @property
    def shipping(self) -> dict[str, Any]:
        return dict(self.body["shipping"])

    @property
    def method(self) -> dict[str, Any]:
        return dict(self.body["shipping_method"])


@dataclass(frozen=True)
class OrderPrice:
    """What the server charges for an order, from its own rates, promos and gift cards."""

    service: ShippingService
    rate: dict[str, Any]
    subtotal: Decimal
    promo: Promo | None
    discount: Decimal
    shipping_total: Decimal
    tax_rate: Decimal
    tax: Decimal
    card: GiftCard | None
    gift_total: Decimal
    amount_charged: Decimal


def order_request(body: dict[str, Any]) -> OrderRequest:
    """Check the body field by field (422 with per-field errors) and normalize its codes."""
    fields = validate_order_body(body)
    if fields:
        raise ApiError(422, "validation_error", "The order is not valid.", fields=fields)
    payment = body["payment"]
    return OrderRequest(
        body=body,
        cart_id=str(body["cart_id"]),
        email=str(body["billing"]["email"]).strip(),
        promo_code=(payment.get("promo_code") or "").strip().upper() or None,
        gift_code=normalize_gift_card(payment.get("gift_card_code") or "") or None,
        gateway_id=str(payment.get("gateway_id") or "").strip(),
    )


class PlacementMixin(PricingMixin):
    """``place_order`` and its steps; the ``_`` steps expect the lock held."""

    def place_order(
        self, key: KeySpec, body: dict[str, Any], base_url: str, payment_check: PaymentCheck
    ) -> dict[str, Any]:
        """Validate, reserve, verify the payment outside the lock, then commit or release."""
        request = order_request(body)
        with self.lock:
            cart = self._cart_to_order(request.cart_id)
            price = self._price_order(cart, request)
            self._check_order_stock(cart)
            self._reserve(cart, price, request.email)
            items = [self._item_dict(i, base_url) for i in cart.items]
        try:
            # The documented contract only records the gateway_id: verifying and capturing
            # the PaymentIntent is [ours].
            if price.amount_charged > ZERO and not self.documented:
                payment_check(request.gateway_id, price.amount_charged)
        except BaseException:
            with self.lock:
                self._release_reservation(cart, price, request.email)
            raise
        with self.lock:
            order = self._commit_order(key, cart, request, price, items)
            data = self._answer(order)
            self._fire("order.created", order)
            logger.info("order %s placed (test=%s)", order.order_number, order.is_test)
            return data

    def _cart_to_order(self, cart_id: str) -> Cart:
        """The cart, refused when it is unknown, already ordered, being ordered or empty."""
        cart = self.carts.get(cart_id)
        if cart is None:
            raise ApiError(
                422,
                "cart_not_found",
                "No cart with this id.",
                fields={"cart_id": ["No cart with this id."]},
            )
        self._refuse_ordered_cart(cart)
        if not cart.items:
            raise ApiError(422, "cart_empty", "The cart is empty.")
        return cart

    def _refuse_ordered_cart(self, cart: Cart) -> None:
        # Refusing a second order for a cart is [ours]: nothing documented forbids it, so
        # the documented contract places it.
        if self.documented:
            return
        if cart.order_id is not None:
            order = self.orders[cart.order_id]
            raise ApiError(
                409,
                "cart_already_ordered",
                f"This cart already has order {order.order_number}.",
                extra={"order_id": order.id, "order_number": order.order_number},
            )
        if cart.ordering:
            raise ApiError(409, "cart_locked", "An order for this cart is being placed right now.")

    def _price_order(self, cart: Cart, request: OrderRequest) -> OrderPrice:
        """Price the order from the server's own numbers; the body's amounts are ignored."""
        service, rate = self._order_shipping(cart, request)
        subtotal = self._subtotal(cart)
        promo, discount, free_shipping = self._order_promo(cart, request)
        shipping_total = rate["price"]
        if free_shipping and service.ground:
            shipping_total = ZERO
        shipping = request.shipping
        tax_rate = self._tax_rate(str(shipping["state"]), str(shipping["country"]))
        tax = q(max(ZERO, subtotal - discount) * tax_rate)
        grand_total = subtotal + shipping_total - discount + tax
        card, gift_total = self._order_gift_card(request.gift_code, grand_total)
        amount_charged = grand_total - gift_total
        if amount_charged > ZERO and not request.gateway_id:
            raise ApiError(
                422,
                "validation_error",
                "A payment is needed for the amount not covered by the gift card.",
                fields={"payment.gateway_id": ["This field is required."]},
            )
        return OrderPrice(
            service=service,
            rate=rate,
            subtotal=subtotal,
            promo=promo,
            discount=discount,
            shipping_total=shipping_total,
            tax_rate=tax_rate,
            tax=tax,
            card=card,
            gift_total=gift_total,
            amount_charged=amount_charged,
        )

    def _order_shipping(
        self, cart: Cart, request: OrderRequest
    ) -> tuple[ShippingService, dict[str, Any]]:
        """The server's own rate for the chosen carrier and service."""
        method = request.method
        service = find_service(str(method["carrier"]), str(method["service"]))
        if service is None:
            raise ApiError(
                422,
                "invalid_shipping_method",
                "Unknown shipping service for this carrier.",
                fields={
                    "shipping_method.service": [
                        "Choose a service returned by checkout/shipping-rates."
                    ]
                },
            )
        rate = next(
            r
            for r in self._rates(cart, str(request.shipping["zip"]))
            if r["service_code"] == service.service_code
        )
        return service, rate

    def _order_promo(self, cart: Cart, request: OrderRequest) -> tuple[Promo | None, Decimal, bool]:
        """The promo code's promo, discount and free shipping; 422 when it does not apply."""
        if not request.promo_code:
            return None, ZERO, False
        evaluation = self._promo_evaluate(cart, request.promo_code, request.email)
        if not evaluation["valid"]:
            raise ApiError(
                422,
                "invalid_promo_code",
                evaluation["message"],
                fields={"payment.promo_code": [evaluation["message"]]},
            )
        return (
            self.promos[request.promo_code],
            evaluation["discount"],
            evaluation["free_shipping"],
        )

    def _order_gift_card(
        self, gift_code: str | None, grand_total: Decimal
    ) -> tuple[GiftCard | None, Decimal]:
        """The gift card and what it covers of ``grand_total``; 422 unless it is active."""
        if not gift_code:
            return None, ZERO
        card = self.gift_cards.get(gift_code)
        status = self._gift_card_status(card) if card else "not_found"
        if card is None or status != "active":
            message = (
                "This gift card does not exist." if card is None else f"This gift card is {status}."
            )
            raise ApiError(
                422,
                "invalid_gift_card",
                message,
                fields={"payment.gift_card_code": [message]},
            )
        return card, min(card.balance, grand_total)

    def _check_order_stock(self, cart: Cart) -> None:
        """Refuse the order unless every line is in stock, before anything is taken."""
        short = {
            f"items.{self.variants[i.variant_id].sku}": [
                f"Only {self.variants[i.variant_id].quantity_available} available."
            ]
            for i in cart.items
            if i.quantity > self.variants[i.variant_id].quantity_available
        }
        if short:
            raise ApiError(
                422, "insufficient_stock", "Some items are no longer in stock.", fields=short
            )

    def _reserve(self, cart: Cart, price: OrderPrice, email: str) -> None:
        """Take the stock, the gift-card balance and a promo use; mark the cart as ordering."""
        for item in cart.items:
            self.variants[item.variant_id].quantity_available -= item.quantity
        if price.card is not None:
            price.card.balance -= price.gift_total
        if price.promo is not None:
            self._promo_use(price.promo, email, +1)
        cart.ordering = True

    def _release_reservation(self, cart: Cart, price: OrderPrice, email: str) -> None:
        """Give back what ``_reserve`` took: the payment was not verified."""
        for item in cart.items:
            self.variants[item.variant_id].quantity_available += item.quantity
        if price.card is not None:
            price.card.balance += price.gift_total
        if price.promo is not None:
            self._promo_use(price.promo, email, -1)
        cart.ordering = False

    def _promo_use(self, promo: Promo, email: str, delta: int) -> None:
        promo.times_used += delta
        customer = email.strip().lower()
        promo.used_by[customer] = promo.used_by.get(customer, 0) + delta

    def _commit_order(
        self,
        key: KeySpec,
        cart: Cart,
        request: OrderRequest,
        price: OrderPrice,
        items: list[dict[str, Any]],
    ) -> Order:
        """Record the order (numbered per day) and lock its cart to it."""
        now = self.now()
        day = now.strftime("%Y%m%d")
        self.day_sequence[day] = self.day_sequence.get(day, 0) + 1
        card = price.card
        if card is not None and card.balance <= ZERO:
            card.status = "redeemed"
        order = Order(
            id=next(self.order_ids),
            order_number=f"ORD-{day}-{self.day_sequence[day]:04d}",
            cart_id=cart.id,
            is_test=key.is_test,
            email=request.email,
            billing=clean_address(request.body["billing"]),
            shipping=clean_address(request.shipping),
            shipping_method={
                "method": str(request.method.get("method") or price.rate["method"]),
                "carrier": price.service.carrier,
                "service": price.service.service,
                "service_code": price.service.service_code,
                "cost": money(price.shipping_total),
                "estimated_delivery": price.rate["estimated_delivery"],
            },
            items=items,
            subtotal=price.subtotal,
            shipping_total=price.shipping_total,
            discount_total=price.discount,
            tax_total=price.tax,
            tax_rate=price.tax_rate,
            gift_card_total=price.gift_total,
            amount_charged=price.amount_charged,
            promo_code=price.promo.code if price.promo else None,
            gift_card_code=card.code if card else None,
            payment_intent_id=request.gateway_id or None,
            created_at=now,
            updated_at=now,
        )
        order.history.append({"status": "pending", "at": iso(now)})
        self.orders[order.id] = order
        cart.order_id = order.id
        cart.ordering = False
        cart.updated_at = now
        if price.amount_charged > ZERO:
            self.counters["gateway_ids_recorded" if self.documented else "captures"] += 1
        return order
