"""In-memory state and business rules: catalog, carts, pricing, promos, gift cards, orders.

One re-entrant lock guards all state. Placing an order reserves stock, the gift-card
balance and promo usage under the lock, talks to Stripe *outside* it, then either commits
the order or releases the reservations, so racing orders never oversell or overdraw.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from checkout.testing.sandbox.config import KeySpec, SandboxConfig
from checkout.testing.sandbox.seed import (
    CATEGORIES,
    GIFT_CARD_RE,
    SHIPPING_SERVICES,
    GiftCard,
    Product,
    Promo,
    ShippingService,
    TaxRule,
    Variant,
    seed_catalog,
    seed_gift_cards,
    seed_promos,
    seed_tax_rules,
)
from checkout.testing.sandbox.webhooks import WebhookHub

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
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
US_STATES = {
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "DC",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
    "PR",
}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ZIP_RE = re.compile(r"^\d{5}(-\d{4})?$")


class ApiError(Exception):
    """An error answer: HTTP status, snake_case code, human message, optional fields."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        error.update(self.extra)
        return {"success": False, "error": error}


def money(value: Decimal) -> float:
    """Serialize money: Decimal internally, a JSON number with two decimals outside."""
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def parse_iso(value: str) -> datetime:
    moment = datetime.fromisoformat(value.strip().replace(" ", "+"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def mask_gift_card(code: str) -> str:
    return "*" * (len(code) - 4) + code[-4:]


def normalize_gift_card(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


@dataclass
class CartItem:
    id: int
    variant_id: int
    quantity: int


@dataclass
class Cart:
    id: str
    created_at: datetime
    updated_at: datetime
    items: list[CartItem] = field(default_factory=list)
    order_id: int | None = None
    ordering: bool = False  # an order for it is being placed right now


@dataclass
class Order:
    id: int
    order_number: str
    cart_id: str
    is_test: bool
    email: str
    billing: dict[str, Any]
    shipping: dict[str, Any]
    shipping_method: dict[str, Any]
    items: list[dict[str, Any]]
    subtotal: Decimal
    shipping_total: Decimal
    discount_total: Decimal
    tax_total: Decimal
    tax_rate: Decimal
    gift_card_total: Decimal
    amount_charged: Decimal
    promo_code: str | None
    gift_card_code: str | None
    payment_intent_id: str | None
    created_at: datetime
    updated_at: datetime
    status: str = "pending"
    payment_status: str = "captured"
    tracking_number: str | None = None
    shipping_carrier: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def grand_total(self) -> Decimal:
        return self.subtotal + self.shipping_total - self.discount_total + self.tax_total

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "order_number": self.order_number,
            "status": self.status,
            "payment_status": self.payment_status,
            "grand_total": money(self.grand_total),
            "is_test": self.is_test,
            "items": [dict(i) for i in self.items],
            "cart_id": self.cart_id,
            "email": self.email,
            "billing": dict(self.billing),
            "shipping": dict(self.shipping),
            "shipping_method": dict(self.shipping_method),
            "subtotal": money(self.subtotal),
            "shipping_total": money(self.shipping_total),
            "discount_total": money(self.discount_total),
            "tax_total": money(self.tax_total),
            "tax_rate": float(self.tax_rate),
            "gift_card_total": money(self.gift_card_total),
            "amount_charged": money(self.amount_charged),
            "currency": "usd",
            "promo_code": self.promo_code,
            "gift_card_code": mask_gift_card(self.gift_card_code) if self.gift_card_code else None,
            "payment_method": "stripe",
            "payment_intent_id": self.payment_intent_id,
            "tracking_number": self.tracking_number,
            "shipping_carrier": self.shipping_carrier,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


PaymentCheck = Callable[[str, Decimal], None]


class Store:
    """All sandbox state. Public methods take the lock; ``_`` helpers expect it held."""

    def __init__(self, config: SandboxConfig, hub: WebhookHub) -> None:
        self.config = config
        self.hub = hub
        self.lock = threading.RLock()
        self.clock_offset = timedelta(0)
        self.keys: dict[str, KeySpec] = config.key_map()
        self.revoked: set[str] = set()
        self.reset()

    # --- lifecycle ---------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            now = self.now()
            self.products: list[Product] = seed_catalog(self.config.seed)
            self.variants: dict[int, Variant] = {v.id: v for p in self.products for v in p.variants}
            self.product_by_id: dict[int, Product] = {p.id: p for p in self.products}
            self.promos: dict[str, Promo] = seed_promos(now)
            self.gift_cards: dict[str, GiftCard] = seed_gift_cards(now)
            self.tax_rules: list[TaxRule] = seed_tax_rules()
            self.carts: dict[str, Cart] = {}
            self.orders: dict[int, Order] = {}
            self.day_sequence: dict[str, int] = {}
            self.order_ids = itertools.count(self.config.order_id_start)
            self.item_ids = itertools.count(1)
            self.counters: dict[str, int] = {"captures": 0}

    def now(self) -> datetime:
        return datetime.now(UTC) + self.clock_offset

    # --- keys --------------------------------------------------------------------------
    def key(self, secret: str) -> KeySpec | None:
        with self.lock:
            if secret in self.revoked:
                return None
            return self.keys.get(secret)

    def add_key(self, spec: KeySpec) -> None:
        with self.lock:
            self.keys[spec.key] = spec
            self.revoked.discard(spec.key)

    def revoke_key(self, secret: str) -> bool:
        with self.lock:
            if secret not in self.keys:
                return False
            self.revoked.add(secret)
            return True

    # --- catalog -------------------------------------------------------------------------
    def variant_dict(self, variant: Variant, base_url: str) -> dict[str, Any]:
        return {
            "id": variant.id,
            "product_id": variant.product_id,
            "sku": variant.sku,
            "price": money(variant.price),
            "compare_at_price": (
                money(variant.compare_at_price) if variant.compare_at_price else None
            ),
            "quantity_available": variant.quantity_available,
            "in_stock": variant.quantity_available > 0,
            "weight_oz": float(variant.weight_oz),
            "image_url": f"{base_url}/_sandbox/images/{variant.sku}.svg",
            "attributes": dict(variant.attributes),
        }

    def product_dict(self, product: Product, base_url: str) -> dict[str, Any]:
        variants = [self.variant_dict(v, base_url) for v in product.variants]
        prices = [v.price for v in product.variants]
        return {
            "id": product.id,
            "name": product.name,
            "slug": product.slug,
            "description": product.description,
            "category": product.category,
            "brand": product.brand,
            "price_min": money(min(prices)),
            "price_max": money(max(prices)),
            "in_stock": any(v.quantity_available > 0 for v in product.variants),
            "image_url": variants[0]["image_url"],
            "variants": variants,
        }

    def list_products(
        self, base_url: str, category: str | None, brand: str | None, search: str | None
    ) -> list[dict[str, Any]]:
        with self.lock:
            result = []
            for product in self.products:
                if category and product.category != category:
                    continue
                if brand and product.brand.lower() != brand.lower():
                    continue
                if search and search.lower() not in product.name.lower():
                    continue
                result.append(self.product_dict(product, base_url))
            return result

    def get_product(self, product_id: int, base_url: str) -> dict[str, Any]:
        with self.lock:
            product = self.product_by_id.get(product_id)
            if product is None:
                raise ApiError(404, "product_not_found", "No product with this id.")
            return self.product_dict(product, base_url)

    def list_categories(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {
                    "id": c.id,
                    "name": c.name,
                    "slug": c.slug,
                    "product_count": sum(1 for p in self.products if p.category == c.slug),
                }
                for c in CATEGORIES
            ]

    def variant_image(self, sku: str) -> tuple[str, str] | None:
        with self.lock:
            for variant in self.variants.values():
                if variant.sku == sku:
                    product = self.product_by_id[variant.product_id]
                    return product.name, str(variant.attributes.get("color") or "")
            return None

    # --- carts ---------------------------------------------------------------------------
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
        return {
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
                extra={"order_id": cart.order_id},
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

    # --- shipping, tax, promos, gift cards ---------------------------------------------
    def _zone(self, zip_code: str) -> int:
        origin = int(self.config.origin_zip[:3])
        dest = int(zip_code[:3])
        # A distance band from the 3-digit ZIP prefixes: 2 (local) .. 8 (far).
        return min(8, 2 + abs(dest - origin) // 40)

    def _weight_lb(self, cart: Cart) -> int:
        ounces = sum((self.variants[i.variant_id].weight_oz * i.quantity for i in cart.items), ZERO)
        return max(1, math.ceil((ounces + Decimal("4")) / 16))  # + 4 oz packaging

    def _rates(self, cart: Cart, zip_code: str) -> list[dict[str, Any]]:
        zone = self._zone(zip_code)
        pounds = self._weight_lb(cart)
        free = self._subtotal(cart) >= self.config.free_shipping_threshold
        today = self.now().date()
        rates = []
        for svc in SHIPPING_SERVICES:
            price = q(svc.base + svc.per_lb * (pounds - 1) + svc.per_zone * (zone - 2))
            price += svc.per_lb
            if free and svc.ground:
                price = ZERO
            days = svc.fixed_days or min(5, 1 + zone // 2)
            rates.append(
                {
                    "carrier": svc.carrier,
                    "service": svc.service,
                    "service_code": svc.service_code,
                    "method": "ground" if svc.ground else "express",
                    "price": q(price),
                    "estimated_delivery": _add_business_days(today, days).isoformat(),
                    "transit_days": days,
                }
            )
        rates.sort(key=lambda r: (r["price"], r["transit_days"], r["service_code"]))
        return rates

    def shipping_rates(self, cart_id: str, address: dict[str, Any]) -> list[dict[str, Any]]:
        errors = _address_errors(address, "address", _SHIPPING_REQUIRED_FOR_RATES)
        if errors:
            raise ApiError(422, "validation_error", "The address is not valid.", fields=errors)
        if str(address.get("country", "US")).upper() != "US":
            raise ApiError(
                422,
                "unsupported_destination",
                "The sandbox ships to US addresses only.",
                fields={"address.country": ["Only US addresses are supported."]},
            )
        with self.lock:
            cart = self._cart(cart_id)
            if not cart.items:
                raise ApiError(422, "cart_empty", "The cart is empty.")
            rates = self._rates(cart, str(address["zip"]))
        return [{**r, "price": money(r["price"])} for r in rates]

    def _tax_rate(self, state: str | None, country: str) -> Decimal:
        state_u = (state or "").upper()
        country_u = country.upper()
        for rule in self.tax_rules:
            if rule.country == country_u and rule.state and rule.state == state_u:
                return rule.rate
        for rule in self.tax_rules:
            if rule.country == country_u and rule.state is None:
                return rule.rate
        return Decimal("0")

    def calculate_tax(
        self, cart_id: str, state: str, country: str, promo_code: str | None, email: str
    ) -> dict[str, Any]:
        with self.lock:
            cart = self._cart(cart_id)
            subtotal = self._subtotal(cart)
            discount = ZERO
            if promo_code:
                result = self._promo_evaluate(cart, promo_code, email)
                discount = result["discount"] if result["valid"] else ZERO
            rate = self._tax_rate(state, country)
            base = max(ZERO, subtotal - discount)
            return {
                "tax_amount": money(q(base * rate)),
                "tax_rate": float(rate),
                "taxable_amount": money(base),
                "state": state.upper(),
                "country": country.upper(),
            }

    def _promo_evaluate(self, cart: Cart, code: str, email: str) -> dict[str, Any]:
        code_u = code.strip().upper()
        promo = self.promos.get(code_u)
        result: dict[str, Any] = {
            "valid": False,
            "code": code_u,
            "discount": ZERO,
            "free_shipping": False,
            "message": "",
        }
        now = self.now()
        subtotal = self._subtotal(cart)
        if promo is None:
            result["message"] = "This promo code does not exist."
        elif promo.starts_at and now < promo.starts_at:
            result["message"] = "This promo code is not active yet."
        elif promo.ends_at and now >= promo.ends_at:
            result["message"] = "This promo code has expired."
        elif promo.usage_limit is not None and promo.times_used >= promo.usage_limit:
            result["message"] = "This promo code has reached its usage limit."
        elif (
            promo.per_customer_limit is not None
            and promo.used_by.get(email.strip().lower(), 0) >= promo.per_customer_limit
        ):
            result["message"] = "You have already used this promo code."
        elif promo.min_subtotal is not None and subtotal < promo.min_subtotal:
            result["message"] = f"This promo code needs an order of at least ${promo.min_subtotal}."
        else:
            eligible = subtotal
            if promo.category:
                eligible = q(
                    sum(
                        (
                            self.variants[i.variant_id].price * i.quantity
                            for i in cart.items
                            if self.product_by_id[self.variants[i.variant_id].product_id].category
                            == promo.category
                        ),
                        ZERO,
                    )
                )
            if promo.category and eligible == ZERO:
                result["message"] = f"This promo code applies to {promo.category} only."
                return result
            discount = ZERO
            if promo.kind == "percentage":
                discount = q(eligible * promo.value / 100)
                if promo.max_discount is not None:
                    discount = min(discount, promo.max_discount)
            elif promo.kind == "fixed":
                discount = min(promo.value, eligible)
            result.update(
                valid=True,
                discount=q(discount),
                free_shipping=promo.kind == "free_shipping",
                message="Free ground shipping applied."
                if promo.kind == "free_shipping"
                else f"${q(discount)} off applied.",
            )
        return result

    def validate_promo(self, cart_id: str, code: str, email: str) -> dict[str, Any]:
        with self.lock:
            result = self._promo_evaluate(self._cart(cart_id), code, email)
        discount = result.pop("discount")
        return {**result, "discount_amount": money(discount)}

    def _gift_card_status(self, card: GiftCard) -> str:
        if card.status == "active" and card.expires_at and self.now() >= card.expires_at:
            return "expired"
        if card.status == "active" and card.balance <= ZERO:
            return "redeemed"
        return card.status

    def validate_gift_card(self, code: str) -> dict[str, Any]:
        normalized = normalize_gift_card(code)
        with self.lock:
            card = self.gift_cards.get(normalized)
            if card is None or not GIFT_CARD_RE.match(normalized):
                return {
                    "valid": False,
                    "balance": 0.0,
                    "status": "not_found",
                    "message": "This gift card does not exist.",
                }
            status = self._gift_card_status(card)
            return {
                "valid": status == "active",
                "balance": money(card.balance) if status == "active" else 0.0,
                "status": status,
                "code": mask_gift_card(card.code),
                "message": "" if status == "active" else f"This gift card is {status}.",
            }

    def add_gift_card(self, code: str | None, balance: Decimal, status: str) -> GiftCard:
        import secrets

        from checkout.testing.sandbox.seed import GIFT_CARD_ALPHABET

        with self.lock:
            if code is None:
                code = "".join(secrets.choice(GIFT_CARD_ALPHABET) for _ in range(16))
            code = normalize_gift_card(code)
            if not GIFT_CARD_RE.match(code):
                raise ApiError(
                    422,
                    "validation_error",
                    "Gift card codes are 16 characters from A-Z and 2-9 without I and O.",
                    fields={"code": ["Invalid format."]},
                )
            card = GiftCard(code, q(balance), q(balance), status)
            self.gift_cards[code] = card
            return card

    # --- orders --------------------------------------------------------------------------
    def _visible(self, order: Order, key: KeySpec) -> bool:
        return key.is_test or not order.is_test

    def _order(self, order_id: int, key: KeySpec | None) -> Order:
        order = self.orders.get(order_id)
        if order is None or (key is not None and not self._visible(order, key)):
            raise ApiError(404, "order_not_found", "No order with this id.")
        return order

    def get_order(self, order_id: int, key: KeySpec) -> dict[str, Any]:
        with self.lock:
            return self._order(order_id, key).as_dict()

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
                and (cart_id is None or o.cart_id == cart_id)
                and (updated_since is None or o.updated_at >= updated_since)
            ]
            orders.sort(key=lambda o: (o.created_at, o.id), reverse=True)
            return [o.as_dict() for o in orders]

    def place_order(
        self, key: KeySpec, body: dict[str, Any], base_url: str, payment_check: PaymentCheck
    ) -> dict[str, Any]:
        """Validate, reserve, verify the payment outside the lock, then commit or release."""
        fields = validate_order_body(body)
        if fields:
            raise ApiError(422, "validation_error", "The order is not valid.", fields=fields)
        payment = body["payment"]
        shipping = body["shipping"]
        method = body["shipping_method"]
        promo_code = (payment.get("promo_code") or "").strip().upper() or None
        gift_code = normalize_gift_card(payment.get("gift_card_code") or "") or None
        email = str(body["billing"]["email"]).strip()
        with self.lock:
            cart = self.carts.get(str(body["cart_id"]))
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
            # Shipping: the server's own rate for the chosen carrier and service.
            service = _find_service(str(method["carrier"]), str(method["service"]))
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
                for r in self._rates(cart, str(shipping["zip"]))
                if r["service_code"] == service.service_code
            )
            subtotal = self._subtotal(cart)
            promo: Promo | None = None
            discount = ZERO
            free_shipping = False
            if promo_code:
                evaluation = self._promo_evaluate(cart, promo_code, email)
                if not evaluation["valid"]:
                    raise ApiError(
                        422,
                        "invalid_promo_code",
                        evaluation["message"],
                        fields={"payment.promo_code": [evaluation["message"]]},
                    )
                promo = self.promos[promo_code]
                discount = evaluation["discount"]
                free_shipping = evaluation["free_shipping"]
            shipping_total = rate["price"]
            if free_shipping and service.ground:
                shipping_total = ZERO
            tax_rate = self._tax_rate(str(shipping["state"]), str(shipping["country"]))
            tax = q(max(ZERO, subtotal - discount) * tax_rate)
            grand_total = subtotal + shipping_total - discount + tax
            card: GiftCard | None = None
            gift_total = ZERO
            if gift_code:
                card = self.gift_cards.get(gift_code)
                status = self._gift_card_status(card) if card else "not_found"
                if card is None or status != "active":
                    message = (
                        "This gift card does not exist."
                        if card is None
                        else f"This gift card is {status}."
                    )
                    raise ApiError(
                        422,
                        "invalid_gift_card",
                        message,
                        fields={"payment.gift_card_code": [message]},
                    )
                gift_total = min(card.balance, grand_total)
            amount_charged = grand_total - gift_total
            gateway_id = str(payment.get("gateway_id") or "").strip()
            if amount_charged > ZERO and not gateway_id:
                raise ApiError(
                    422,
                    "validation_error",
                    "A payment is needed for the amount not covered by the gift card.",
                    fields={"payment.gateway_id": ["This field is required."]},
                )
            # Stock check for every line before taking anything.
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
            # Reserve: stock, gift card balance, promo usage; mark the cart as ordering.
            for item in cart.items:
                self.variants[item.variant_id].quantity_available -= item.quantity
            if card is not None:
                card.balance -= gift_total
            if promo is not None:
                self._promo_use(promo, email, +1)
            cart.ordering = True
            items = [self._item_dict(i, base_url) for i in cart.items]
        try:
            if amount_charged > ZERO:
                payment_check(gateway_id, amount_charged)
        except BaseException:
            with self.lock:
                for item in cart.items:
                    self.variants[item.variant_id].quantity_available += item.quantity
                if card is not None:
                    card.balance += gift_total
                if promo is not None:
                    self._promo_use(promo, email, -1)
                cart.ordering = False
            raise
        with self.lock:
            now = self.now()
            day = now.strftime("%Y%m%d")
            self.day_sequence[day] = self.day_sequence.get(day, 0) + 1
            if card is not None and card.balance <= ZERO:
                card.status = "redeemed"
            order = Order(
                id=next(self.order_ids),
                order_number=f"ORD-{day}-{self.day_sequence[day]:04d}",
                cart_id=cart.id,
                is_test=key.is_test,
                email=email,
                billing=_clean_address(body["billing"]),
                shipping=_clean_address(shipping),
                shipping_method={
                    "method": str(method.get("method") or rate["method"]),
                    "carrier": service.carrier,
                    "service": service.service,
                    "service_code": service.service_code,
                    "cost": money(shipping_total),
                    "estimated_delivery": rate["estimated_delivery"],
                },
                items=items,
                subtotal=subtotal,
                shipping_total=shipping_total,
                discount_total=discount,
                tax_total=tax,
                tax_rate=tax_rate,
                gift_card_total=gift_total,
                amount_charged=amount_charged,
                promo_code=promo.code if promo else None,
                gift_card_code=card.code if card else None,
                payment_intent_id=gateway_id or None,
                created_at=now,
                updated_at=now,
            )
            order.history.append({"status": "pending", "at": iso(now)})
            self.orders[order.id] = order
            cart.order_id = order.id
            cart.ordering = False
            cart.updated_at = now
            if amount_charged > ZERO:
                self.counters["captures"] += 1
            data = order.as_dict()
            self.hub.fire("order.created", data, order.is_test)
            logger.info("order %s placed (test=%s)", order.order_number, order.is_test)
            return data

    def _refuse_ordered_cart(self, cart: Cart) -> None:
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

    def _promo_use(self, promo: Promo, email: str, delta: int) -> None:
        promo.times_used += delta
        customer = email.strip().lower()
        promo.used_by[customer] = promo.used_by.get(customer, 0) + delta

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
            return order.as_dict()

    def change_status(
        self,
        order_id: int,
        key: KeySpec | None,
        new_status: str,
        refund: Callable[[str, Decimal], None] | None = None,
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
            data = order.as_dict()
            self.hub.fire(
                "order.status_changed", {**data, "previous_status": previous}, order.is_test
            )
            if new_status in STATUS_EVENTS:
                self.hub.fire(STATUS_EVENTS[new_status], data, order.is_test)
        if refund is not None and new_status in {"cancelled", "refunded"} and pi and charged:
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
        refund: Callable[[str, Decimal], None] | None = None,
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
                        number = tracking_number or _fake_tracking(chosen_carrier, order.id)
                        self.set_tracking(order_id, None, number, str(chosen_carrier))
            data = self.change_status(order_id, None, step, refund)
        return data

    def state(self) -> dict[str, Any]:
        with self.lock:
            by_status: dict[str, int] = {}
            for order in self.orders.values():
                by_status[order.status] = by_status.get(order.status, 0) + 1
            return {
                "orders": len(self.orders),
                "orders_by_status": by_status,
                "carts": len(self.carts),
                "captures": self.counters["captures"],
                "gift_cards": {
                    c.code: {"balance": money(c.balance), "status": self._gift_card_status(c)}
                    for c in self.gift_cards.values()
                },
                "promo_usage": {p.code: p.times_used for p in self.promos.values()},
                "clock_offset_seconds": self.clock_offset.total_seconds(),
            }


_SHIPPING_REQUIRED_FOR_RATES = ("zip",)
_BILLING_REQUIRED = ("name", "email", "phone", "address1", "city", "state", "zip", "country")
_SHIPPING_REQUIRED = ("name", "address1", "city", "state", "zip", "country")
_ADDRESS_KEYS = (
    "name",
    "email",
    "phone",
    "address1",
    "address2",
    "city",
    "state",
    "zip",
    "country",
    "company",
)


def _clean_address(address: dict[str, Any]) -> dict[str, Any]:
    return {k: address.get(k) for k in _ADDRESS_KEYS if k in address or k == "address2"}


def _address_errors(address: Any, prefix: str, required: tuple[str, ...]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(address, dict):
        return {prefix: ["This field is required and must be an object."]}
    for name in required:
        value = address.get(name)
        if not isinstance(value, str) or not value.strip():
            errors[f"{prefix}.{name}"] = ["This field is required."]
    for name in ("address2", "phone", "email", "company"):
        if address.get(name) is not None and not isinstance(address.get(name), str):
            errors[f"{prefix}.{name}"] = ["Must be a string."]
    country = str(address.get("country") or "US").upper()
    zip_code = address.get("zip")
    if (
        isinstance(zip_code, str)
        and zip_code.strip()
        and country == "US"
        and not ZIP_RE.match(zip_code.strip())
    ):
        errors[f"{prefix}.zip"] = ["Enter a 5-digit ZIP code."]
    state = address.get("state")
    if (
        isinstance(state, str)
        and state.strip()
        and country == "US"
        and state.strip().upper() not in US_STATES
    ):
        errors[f"{prefix}.state"] = ["Enter a two-letter US state code."]
    if isinstance(address.get("country"), str) and not re.match(
        r"^[A-Za-z]{2}$", str(address["country"])
    ):
        errors[f"{prefix}.country"] = ["Enter a two-letter ISO country code."]
    email = address.get("email")
    if isinstance(email, str) and email.strip() and not EMAIL_RE.match(email.strip()):
        errors[f"{prefix}.email"] = ["Enter a valid email address."]
    return errors


def validate_order_body(body: dict[str, Any]) -> dict[str, list[str]]:
    """Return per-field errors keyed like ``billing.zip``; empty when the body is valid."""
    errors: dict[str, list[str]] = {}
    if not isinstance(body.get("cart_id"), str) or not body["cart_id"].strip():
        errors["cart_id"] = ["This field is required."]
    errors.update(_address_errors(body.get("billing"), "billing", _BILLING_REQUIRED))
    errors.update(_address_errors(body.get("shipping"), "shipping", _SHIPPING_REQUIRED))
    shipping = body.get("shipping")
    if (
        isinstance(shipping, dict)
        and isinstance(shipping.get("country"), str)
        and shipping["country"].upper() != "US"
    ):
        errors["shipping.country"] = ["The sandbox ships to US addresses only."]
    method = body.get("shipping_method")
    if not isinstance(method, dict):
        errors["shipping_method"] = ["This field is required and must be an object."]
    else:
        for name in ("carrier", "service"):
            if not isinstance(method.get(name), str) or not method[name].strip():
                errors[f"shipping_method.{name}"] = ["This field is required."]
        if method.get("method") is not None and not isinstance(method.get("method"), str):
            errors["shipping_method.method"] = ["Must be a string."]
        cost = method.get("cost")
        if cost is not None and (isinstance(cost, bool) or not isinstance(cost, int | float)):
            errors["shipping_method.cost"] = ["Must be a number."]
    payment = body.get("payment")
    if not isinstance(payment, dict):
        errors["payment"] = ["This field is required and must be an object."]
    else:
        if payment.get("method") != "stripe":
            errors["payment.method"] = ['Only "stripe" is supported.']
        for name in ("gateway_id", "promo_code", "gift_card_code"):
            value = payment.get(name)
            if value is not None and not isinstance(value, str):
                errors[f"payment.{name}"] = ["Must be a string."]
        if not payment.get("gateway_id") and not payment.get("gift_card_code"):
            errors["payment.gateway_id"] = ["This field is required."]
    return errors


def _find_service(carrier: str, service: str) -> ShippingService | None:
    wanted = service.strip().lower()
    for svc in SHIPPING_SERVICES:
        if svc.carrier.lower() != carrier.strip().lower():
            continue
        if wanted in {svc.service.lower(), svc.service_code}:
            return svc
    return None


def _add_business_days(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def _fake_tracking(carrier: str, order_id: int) -> str:
    if carrier.upper() == "UPS":
        return f"1Z999SBX{order_id:010d}"
    return f"7{order_id:011d}"
