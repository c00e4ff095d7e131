"""What a cart costs: shipping rates, tax, promo codes and gift cards."""

from __future__ import annotations

import math
import secrets
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from checkout.testing.sandbox.carts import CartsMixin
from checkout.testing.sandbox.records import (
    ZERO,
    ApiError,
    Cart,
    mask_gift_card,
    money,
    normalize_gift_card,
    q,
)
from checkout.testing.sandbox.seed import (
    GIFT_CARD_ALPHABET,
    GIFT_CARD_RE,
    SHIPPING_SERVICES,
    GiftCard,
    ShippingService,
)
from checkout.testing.sandbox.validation import SHIPPING_REQUIRED_FOR_RATES, address_errors


class PricingMixin(CartsMixin):
    """Shipping rates, tax, promo codes and gift cards for a cart."""

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
            days = svc.fixed_days or ground_transit_days(zone)
            rates.append(
                {
                    "carrier": svc.carrier,
                    "service": svc.service,
                    "service_code": svc.service_code,
                    "method": "ground" if svc.ground else "express",
                    "price": q(price),
                    "estimated_delivery": add_business_days(today, days).isoformat(),
                    "transit_days": days,
                }
            )
        rates.sort(key=lambda r: (r["price"], r["transit_days"], r["service_code"]))
        return rates

    def shipping_rates(self, cart_id: str, address: dict[str, Any]) -> list[dict[str, Any]]:
        errors = address_errors(address, "address", SHIPPING_REQUIRED_FOR_RATES)
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


def find_service(carrier: str, service: str) -> ShippingService | None:
    """The carrier's service by its name or code, case-insensitively; None when unknown."""
    wanted = service.strip().lower()
    for svc in SHIPPING_SERVICES:
        if svc.carrier.lower() != carrier.strip().lower():
            continue
        if wanted in {svc.service.lower(), svc.service_code}:
            return svc
    return None


# Ground is the slowest service everywhere: a business day after the slowest express
# service near the origin, one more every three zones out. A paid faster service never
# arrives after (or with) free Ground.
SLOWEST_EXPRESS_DAYS = max(s.fixed_days or 0 for s in SHIPPING_SERVICES)


def ground_transit_days(zone: int) -> int:
    """Business days a ground service takes to the distance ``zone`` (2..8)."""
    return SLOWEST_EXPRESS_DAYS + 1 + (zone - 2) // 3


def add_business_days(start: date, days: int) -> date:
    """The date ``days`` working days (Monday to Friday) after ``start``."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current
