"""Carts: creating them, changing their items within the stock, and their JSON form."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from checkout.testing.sandbox.records import ZERO, ApiError, Cart, CartItem, iso, money, q
from checkout.testing.sandbox.seed import Variant
from checkout.testing.sandbox.state import StoreState


class CartsMixin(StoreState):
    """Carts and their items; a cart with an order (or one being placed) is locked."""

    def _cart(self, cart_id: str) -> Cart:
        cart = self.carts.get(str(cart_id))
        if cart is None:
            raise ApiError(404, "cart_not_found", "No cart with this id.")
        return cart

    def _item_dict(self, item: CartItem, base_url: str) -> dict[str, Any]:
        variant = self.variants[item.variant_id]
        product = self.product_by_id[variant.product_id]
        detail = " / ".join(str(v) for k, v in variant.attributes.items() if v and k != "condition")
        condition = variant.attributes.get("condition")
        name = product.name + (f" - {detail}" if detail else "")
        if condition and condition != "New":
            name += f" ({condition})"
        return {
            "id": item.id,
            "variant_id": variant.id,
            "product_id": product.id,
            "sku": variant.sku,
            "name": name,
            "unit_price": money(variant.price),
            "quantity": item.quantity,
            "line_total": money(variant.price * item.quantity),
            "weight_oz": float(variant.weight_oz),
            "image_url": f"{base_url}/_sandbox/images/{variant.sku}.svg",
            "attributes": dict(variant.attributes),
        }

    def _subtotal(self, cart: Cart) -> Decimal:
        return q(sum((self.variants[i.variant_id].price * i.quantity for i in cart.items), ZERO))

    def _cart_dict(self, cart: Cart, base_url: str) -> dict[str, Any]:
        data = {
            "id": cart.id,
            "items": [self._item_dict(i, base_url) for i in cart.items],
            "subtotal": money(self._subtotal(cart)),
            "item_count": sum(i.quantity for i in cart.items),
            "locked": cart.order_id is not None,
            "order_id": cart.order_id,
            "currency": "usd",
            "created_at": iso(cart.created_at),
            "updated_at": iso(cart.updated_at),
        }
        if self.documented:
            # A cart naming its order is [ours]: the documented cart only says it is locked.
            del data["order_id"]
        return data

    def create_cart(self, base_url: str) -> dict[str, Any]:
        with self.lock:
            now = self.now()
            cart = Cart(id=str(uuid.uuid4()), created_at=now, updated_at=now)
            self.carts[cart.id] = cart
            return self._cart_dict(cart, base_url)

    def get_cart(self, cart_id: str, base_url: str) -> dict[str, Any]:
        with self.lock:
            return self._cart_dict(self._cart(cart_id), base_url)

    def _mutable_cart(self, cart_id: str) -> Cart:
        cart = self._cart(cart_id)
        if cart.order_id is not None or cart.ordering:
            raise ApiError(
                409,
                "cart_locked",
                "This cart already has an order; its items can no longer change.",
                extra={} if self.documented else {"order_id": cart.order_id},
            )
        return cart

    def _check_stock(self, variant: Variant, quantity: int) -> None:
        if quantity > variant.quantity_available:
            raise ApiError(
                422,
                "insufficient_stock",
                f"Only {variant.quantity_available} of {variant.sku} available.",
                fields={"quantity": [f"Only {variant.quantity_available} available."]},
                extra={"available": variant.quantity_available, "sku": variant.sku},
            )

    def add_item(self, cart_id: str, variant_id: int, quantity: int, base_url: str) -> Any:
        with self.lock:
            cart = self._mutable_cart(cart_id)
            variant = self.variants.get(variant_id)
            if variant is None:
                raise ApiError(
                    422,
                    "validation_error",
                    "Unknown variant.",
                    fields={"variant_id": ["No variant with this id."]},
                )
            existing = next((i for i in cart.items if i.variant_id == variant_id), None)
            total = quantity + (existing.quantity if existing else 0)
            self._check_stock(variant, total)
            if existing:
                existing.quantity = total
            else:
                cart.items.append(CartItem(next(self.item_ids), variant_id, quantity))
            cart.updated_at = self.now()
            return self._cart_dict(cart, base_url)

    def update_item(self, cart_id: str, item_id: int, quantity: int, base_url: str) -> Any:
        with self.lock:
            cart = self._mutable_cart(cart_id)
            item = next((i for i in cart.items if i.id == item_id), None)
            if item is None:
                raise ApiError(404, "item_not_found", "No such item in this cart.")
            if quantity == 0:
                cart.items.remove(item)
            else:
                self._check_stock(self.variants[item.variant_id], quantity)
                item.quantity = quantity
            cart.updated_at = self.now()
            return self._cart_dict(cart, base_url)

    def remove_item(self, cart_id: str, item_id: int, base_url: str) -> Any:
        return self.update_item(cart_id, item_id, 0, base_url)
