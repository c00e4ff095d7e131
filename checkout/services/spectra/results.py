"""Typed results of the Spectra API: frozen dataclasses built from the JSON answers.

Money is ``Decimal`` (``conf.money``: JSON numbers go through ``str``, never float
arithmetic), timestamps are aware ``datetime``, delivery estimates are ``date``. Every
result keeps the dict it came from in ``raw`` (left out of comparison and repr), so a
field the API adds later is never lost. Statuses are stored as the plain strings the API
sent: an unknown value is kept, not refused; the ``KNOWN`` constants only name the ones
we act on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Generic, TypeVar

from checkout.conf import money

T = TypeVar("T")


class ResponseFormatError(ValueError):
    """A 2xx answer whose body does not have the shape we need."""


# --- Statuses -------------------------------------------------------------------------


class OrderStatus(StrEnum):
    """Order statuses the API documents (an order may carry another one)."""

    PENDING = "pending"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class PaymentStatus(StrEnum):
    """Payment statuses seen in answers (documented and sandbox ones)."""

    CAPTURED = "captured"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    PENDING = "pending"
    AUTHORIZED = "authorized"
    FAILED = "failed"
    VOIDED = "voided"


ORDER_STATUSES: tuple[str, ...] = tuple(s.value for s in OrderStatus)
PAYMENT_STATUSES: tuple[str, ...] = tuple(s.value for s in PaymentStatus)

# An order in one of these statuses never changes again, so reconciliation may stop
# polling it. ``delivered`` is deliberately not here: delivered -> refunded is an allowed
# move, so the poller keeps watching delivered orders (the "delivered" email is still
# final from the shopper's side).
FINAL_ORDER_STATUSES: tuple[str, ...] = (OrderStatus.CANCELLED.value, OrderStatus.REFUNDED.value)

# The currency of the API's amounts when an answer does not name one. The docs state
# amounts in dollars and cents; "USD only" is our reading (spectra-api.md, [ours]). Carts,
# quotes, attempts and orders take their currency from here or from the answer itself.
API_CURRENCY = "USD"


def _currency(data: Mapping[str, Any]) -> str:
    value = str(data.get("currency") or "").strip().upper()
    return value if len(value) == 3 and value.isalpha() else API_CURRENCY


# --- Field readers ----------------------------------------------------------------------


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ResponseFormatError(f"{what}: expected an object, got {type(value).__name__}")
    return value


def _list(value: Any, what: str) -> Sequence[Any]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ResponseFormatError(f"{what}: expected a list, got {type(value).__name__}")
    return value


def _required(data: Mapping[str, Any], key: str) -> Any:
    value = data.get(key)
    if value is None:
        raise ResponseFormatError(f"missing field {key!r}")
    return value


def _int(data: Mapping[str, Any], key: str) -> int:
    value = _required(data, key)
    if isinstance(value, bool):
        raise ResponseFormatError(f"field {key!r}: expected an integer")
    try:
        return int(value)
    except (TypeError, ValueError) as err:
        raise ResponseFormatError(f"field {key!r}: expected an integer") from err


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    return None if data.get(key) is None else _int(data, key)


def _str(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key)
    return default if value is None else str(value)


def _bool(data: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = data.get(key)
    return default if value is None else bool(value)


def _money(data: Mapping[str, Any], key: str) -> Decimal:
    value = _required(data, key)
    try:
        return money(value)
    except (InvalidOperation, TypeError, ValueError) as err:
        raise ResponseFormatError(f"field {key!r}: expected an amount") from err


def _opt_money(data: Mapping[str, Any], key: str) -> Decimal | None:
    return None if data.get(key) is None else _money(data, key)


def _decimal(data: Mapping[str, Any], key: str, default: str = "0") -> Decimal:
    value = data.get(key)
    try:
        return Decimal(default if value is None else str(value))
    except (InvalidOperation, TypeError, ValueError) as err:
        raise ResponseFormatError(f"field {key!r}: expected a number") from err


def _id(data: Mapping[str, Any], key: str = "id") -> int | str:
    """Return an id as the API sent it: integers stay ``int``, anything else ``str``."""
    value = _required(data, key)
    return value if isinstance(value, int) and not isinstance(value, bool) else str(value)


def parse_datetime(value: Any) -> dt.datetime | None:
    """Return an aware datetime from an ISO 8601 string (UTC if it has no offset)."""
    if value in (None, ""):
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError as err:
        raise ResponseFormatError(f"not an ISO 8601 timestamp: {value!r}") from err
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def parse_date(value: Any) -> dt.date | None:
    """Return a date from ``YYYY-MM-DD`` (or the date part of a timestamp)."""
    if value in (None, ""):
        return None
    text = str(value)
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError as err:
        raise ResponseFormatError(f"not an ISO 8601 date: {value!r}") from err


def _many(items: Any, parse: Callable[[Mapping[str, Any]], T], what: str) -> tuple[T, ...]:
    return tuple(parse(_mapping(item, what)) for item in _list(items, what))


def _raw() -> Any:
    return field(default_factory=dict, compare=False, repr=False)


# --- Paging ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list answer."""

    items: tuple[T, ...]
    total: int
    page: int
    per_page: int
    total_pages: int

    @property
    def has_next(self) -> bool:
        """Return whether a later page exists."""
        return self.page < self.total_pages

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


# --- Catalog --------------------------------------------------------------------------


# Attribute names the storefront shows; used when a variant carries them at top level.
_VARIANT_ATTRIBUTE_KEYS = ("color", "storage", "condition", "carrier", "size", "model")


@dataclass(frozen=True, slots=True)
class Variant:
    """One SKU of a product."""

    id: int
    sku: str
    price: Decimal
    compare_at_price: Decimal | None
    quantity_available: int
    weight_oz: Decimal
    image_url: str
    attributes: Mapping[str, Any]
    name: str = ""
    raw: Mapping[str, Any] = _raw()

    @property
    def in_stock(self) -> bool:
        """Return whether at least one unit can be bought."""
        return self.quantity_available > 0

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Variant:
        """Build from an API variant object."""
        attributes = data.get("attributes")
        if not isinstance(attributes, Mapping):
            attributes = {k: data[k] for k in _VARIANT_ATTRIBUTE_KEYS if data.get(k) is not None}
        return cls(
            id=_int(data, "id"),
            sku=_str(data, "sku"),
            price=_money(data, "price"),
            compare_at_price=_opt_money(data, "compare_at_price"),
            quantity_available=_opt_int(data, "quantity_available") or 0,
            weight_oz=_decimal(data, "weight_oz"),
            image_url=_str(data, "image_url"),
            attributes=dict(attributes),
            name=_str(data, "name"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class Category:
    """A catalog category."""

    id: int | str
    name: str
    slug: str
    parent_id: int | str | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Category:
        """Build from an API category object."""
        parent = data.get("parent_id")
        return cls(
            id=_id(data),
            name=_str(data, "name"),
            slug=_str(data, "slug"),
            parent_id=None if parent is None else _id(data, "parent_id"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class Product:
    """A catalog product with its variants."""

    id: int
    name: str
    slug: str
    description: str
    category: str
    brand: str
    variants: tuple[Variant, ...]
    category_id: int | str | None = None
    raw: Mapping[str, Any] = _raw()

    @property
    def in_stock(self) -> bool:
        """Return whether any variant can be bought."""
        return any(v.in_stock for v in self.variants)

    def get_variant(self, variant_id: int) -> Variant | None:
        """Return the variant with this id, or None."""
        return next((v for v in self.variants if v.id == variant_id), None)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Product:
        """Build from an API product object."""
        # The category may come as a name/slug string or as an embedded object.
        category = data.get("category")
        category_id: int | str | None = None
        if isinstance(category, Mapping):
            category_id = _id(category) if category.get("id") is not None else None
            category_name = _str(category, "name") or _str(category, "slug")
        else:
            category_name = "" if category is None else str(category)
        if category_id is None and data.get("category_id") is not None:
            category_id = _id(data, "category_id")
        brand = data.get("brand")
        if isinstance(brand, Mapping):
            brand = brand.get("name")
        return cls(
            id=_int(data, "id"),
            name=_str(data, "name"),
            slug=_str(data, "slug"),
            description=_str(data, "description"),
            category=category_name,
            brand="" if brand is None else str(brand),
            variants=_many(data.get("variants"), Variant.from_api, "variants"),
            category_id=category_id,
            raw=data,
        )


# --- Cart -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CartItem:
    """One line of a cart."""

    id: int | str
    variant_id: int
    sku: str
    name: str
    unit_price: Decimal
    quantity: int
    line_total: Decimal
    image_url: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CartItem:
        """Build from an API cart item object."""
        attributes = data.get("attributes")
        return cls(
            id=_id(data),
            variant_id=_int(data, "variant_id"),
            sku=_str(data, "sku"),
            name=_str(data, "name"),
            unit_price=_money(data, "unit_price"),
            quantity=_int(data, "quantity"),
            line_total=_money(data, "line_total"),
            image_url=_str(data, "image_url"),
            attributes=dict(attributes) if isinstance(attributes, Mapping) else {},
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class Cart:
    """A server-side cart; ``locked`` once an order was placed from it."""

    id: str
    items: tuple[CartItem, ...]
    subtotal: Decimal
    item_count: int
    locked: bool = False
    order_id: int | None = None
    currency: str = API_CURRENCY
    raw: Mapping[str, Any] = _raw()

    @property
    def is_empty(self) -> bool:
        """Return whether the cart holds no items."""
        return not self.items

    def get_item(self, item_id: int | str) -> CartItem | None:
        """Return the line with this id, or None."""
        return next((i for i in self.items if str(i.id) == str(item_id)), None)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Cart:
        """Build from an API cart object."""
        items = _many(data.get("items"), CartItem.from_api, "items")
        item_count = _opt_int(data, "item_count")
        order_id = _opt_int(data, "order_id")
        return cls(
            id=str(_required(data, "id")),
            items=items,
            subtotal=_money(data, "subtotal") if data.get("subtotal") is not None else money(0),
            item_count=sum(i.quantity for i in items) if item_count is None else item_count,
            locked=_bool(data, "locked", default=order_id is not None),
            order_id=order_id,
            currency=_currency(data),
            raw=data,
        )


# --- Checkout helpers -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShippingRate:
    """A shipping option for a cart and address."""

    carrier: str
    service: str
    service_code: str
    price: Decimal
    estimated_delivery: dt.date | None
    transit_days: int | None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ShippingRate:
        """Build from an API shipping rate object."""
        return cls(
            carrier=_str(data, "carrier"),
            service=_str(data, "service"),
            service_code=_str(data, "service_code"),
            price=_money(data, "price"),
            estimated_delivery=parse_date(data.get("estimated_delivery")),
            transit_days=_opt_int(data, "transit_days"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class TaxQuote:
    """The tax the API would charge for a cart shipped to a state (an estimate)."""

    tax_amount: Decimal
    tax_rate: Decimal
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> TaxQuote:
        """Build from an API tax answer."""
        return cls(
            tax_amount=_money(data, "tax_amount"),
            tax_rate=_decimal(data, "tax_rate"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class PromoValidation:
    """Whether a promo code applies to a cart, and what it is worth."""

    valid: bool
    code: str
    discount_amount: Decimal
    free_shipping: bool
    message: str
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> PromoValidation:
        """Build from an API promo answer."""
        discount = data.get("discount_amount")
        return cls(
            valid=_bool(data, "valid"),
            code=_str(data, "code"),
            discount_amount=money(0) if discount is None else _money(data, "discount_amount"),
            free_shipping=_bool(data, "free_shipping"),
            message=_str(data, "message"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class GiftCardBalance:
    """A gift card's usable balance."""

    valid: bool
    balance: Decimal
    status: str
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> GiftCardBalance:
        """Build from an API gift card answer."""
        return cls(
            valid=_bool(data, "valid"),
            balance=money(0) if data.get("balance") is None else _money(data, "balance"),
            status=_str(data, "status"),
            raw=data,
        )


# --- Orders ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    """A billing or shipping address as the API echoes it."""

    name: str
    address1: str
    address2: str
    city: str
    state: str
    zip: str
    country: str
    email: str = ""
    phone: str = ""
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Address:
        """Build from an API address object."""
        return cls(
            name=_str(data, "name"),
            address1=_str(data, "address1"),
            address2=_str(data, "address2"),
            city=_str(data, "city"),
            state=_str(data, "state"),
            zip=_str(data, "zip"),
            country=_str(data, "country"),
            email=_str(data, "email"),
            phone=_str(data, "phone"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class ShippingMethod:
    """The shipping method an order was placed with."""

    method: str
    carrier: str
    service: str
    cost: Decimal
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ShippingMethod:
        """Build from an API shipping method object."""
        return cls(
            method=_str(data, "method"),
            carrier=_str(data, "carrier"),
            service=_str(data, "service"),
            cost=money(0) if data.get("cost") is None else _money(data, "cost"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One line of a placed order."""

    sku: str
    name: str
    quantity: int
    unit_price: Decimal | None
    line_total: Decimal | None
    variant_id: int | None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> OrderItem:
        """Build from an API order item object."""
        return cls(
            sku=_str(data, "sku"),
            name=_str(data, "name"),
            quantity=_opt_int(data, "quantity") or 0,
            unit_price=_opt_money(data, "unit_price"),
            line_total=_opt_money(data, "line_total"),
            variant_id=_opt_int(data, "variant_id"),
            raw=data,
        )


def _opt(data: Mapping[str, Any], key: str, parse: Callable[[Mapping[str, Any]], T]) -> T | None:
    value = data.get(key)
    return None if value is None else parse(_mapping(value, key))


def _payment_intent_id(data: Mapping[str, Any]) -> str:
    for key in ("payment_intent_id", "gateway_id"):
        if data.get(key):
            return str(data[key])
    payment = data.get("payment")
    if isinstance(payment, Mapping) and payment.get("gateway_id"):
        return str(payment["gateway_id"])
    return ""


@dataclass(frozen=True, slots=True)
class Order:
    """A Spectra order.

    Only ``id``, ``order_number``, ``status``, ``payment_status``, ``grand_total``,
    ``is_test`` and ``items`` are documented; every other field is optional.
    """

    id: int
    order_number: str
    status: str
    payment_status: str
    grand_total: Decimal
    is_test: bool
    items: tuple[OrderItem, ...]
    cart_id: str = ""
    email: str = ""
    billing: Address | None = None
    shipping: Address | None = None
    shipping_method: ShippingMethod | None = None
    subtotal: Decimal | None = None
    shipping_total: Decimal | None = None
    discount_total: Decimal | None = None
    tax_total: Decimal | None = None
    gift_card_total: Decimal | None = None
    amount_charged: Decimal | None = None
    promo_code: str = ""
    tracking_number: str = ""
    shipping_carrier: str = ""
    payment_intent_id: str = ""
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    currency: str = API_CURRENCY
    raw: Mapping[str, Any] = _raw()

    @property
    def is_final(self) -> bool:
        """Return whether the order can no longer change (cancelled or refunded)."""
        return self.status in FINAL_ORDER_STATUSES

    @property
    def has_known_status(self) -> bool:
        """Return whether ``status`` is one the API documents."""
        return self.status in ORDER_STATUSES

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Order:
        """Build from an API order object."""
        billing = _opt(data, "billing", Address.from_api)
        return cls(
            id=_int(data, "id"),
            order_number=str(_required(data, "order_number")),
            status=str(_required(data, "status")),
            payment_status=_str(data, "payment_status"),
            grand_total=_money(data, "grand_total"),
            is_test=_bool(data, "is_test"),
            items=_many(data.get("items"), OrderItem.from_api, "items"),
            cart_id=_str(data, "cart_id"),
            email=_str(data, "email") or (billing.email if billing else ""),
            billing=billing,
            shipping=_opt(data, "shipping", Address.from_api),
            shipping_method=_opt(data, "shipping_method", ShippingMethod.from_api),
            subtotal=_opt_money(data, "subtotal"),
            shipping_total=_opt_money(data, "shipping_total"),
            discount_total=_opt_money(data, "discount_total"),
            tax_total=_opt_money(data, "tax_total"),
            gift_card_total=_opt_money(data, "gift_card_total"),
            amount_charged=_opt_money(data, "amount_charged"),
            promo_code=_str(data, "promo_code"),
            tracking_number=_str(data, "tracking_number"),
            shipping_carrier=_str(data, "shipping_carrier"),
            payment_intent_id=_payment_intent_id(data),
            created_at=parse_datetime(data.get("created_at")),
            updated_at=parse_datetime(data.get("updated_at")),
            currency=_currency(data),
            raw=data,
        )


# --- Webhooks -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    """A webhook subscription; ``secret`` is only present in the answer that created it."""

    id: int | str
    url: str
    events: tuple[str, ...]
    secret: str | None
    active: bool
    created_at: dt.datetime | None
    raw: Mapping[str, Any] = _raw()

    def __repr__(self) -> str:
        # The signing secret is shown once; keep it out of logs and tracebacks.
        return (
            f"WebhookSubscription(id={self.id!r}, url={self.url!r}, events={self.events!r}, "
            f"secret={'***' if self.secret else None}, active={self.active!r})"
        )

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> WebhookSubscription:
        """Build from an API webhook object."""
        secret = data.get("secret")
        return cls(
            id=_id(data),
            url=_str(data, "url"),
            events=tuple(str(e) for e in _list(data.get("events"), "events")),
            secret=str(secret) if secret else None,
            active=_bool(data, "active", default=True),
            created_at=parse_datetime(data.get("created_at")),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One delivery attempt of a webhook, as Spectra recorded it."""

    id: int | str
    event: str
    url: str
    status_code: int | None
    response_body: str
    error: str
    duration_ms: float | None
    delivered_at: dt.datetime | None
    raw: Mapping[str, Any] = _raw()

    @property
    def ok(self) -> bool:
        """Return whether the receiver answered 2xx."""
        return self.status_code is not None and 200 <= self.status_code < 300

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> WebhookDelivery:
        """Build from an API delivery object."""
        duration = data.get("duration_ms")
        return cls(
            id=_id(data),
            event=_str(data, "event"),
            url=_str(data, "url"),
            status_code=_opt_int(data, "status_code"),
            response_body=_str(data, "response_body"),
            error=_str(data, "error"),
            duration_ms=None if duration is None else float(_decimal(data, "duration_ms")),
            delivered_at=parse_datetime(data.get("delivered_at") or data.get("created_at")),
            raw=data,
        )
