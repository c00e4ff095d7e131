"""The sandbox's records (carts, orders), its error answer, and how money, times and
gift-card codes are written in JSON."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


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
