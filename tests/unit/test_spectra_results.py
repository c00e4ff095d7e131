"""Spectra results: money as Decimal, aware datetimes, unknown fields and statuses kept."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from checkout.services.spectra import (
    API_CURRENCY,
    FINAL_ORDER_STATUSES,
    ORDER_STATUSES,
    Address,
    Cart,
    Order,
    OrderStatus,
    Product,
    ShippingMethod,
    Variant,
)
from checkout.services.spectra.results import ResponseFormatError, parse_datetime
from tests.unit.spectra_data import CART, ORDER, PRODUCT, VARIANT, order


def test_order_parses_every_documented_and_sandbox_field() -> None:
    parsed = Order.from_api(ORDER)

    assert parsed.id == 1234
    assert parsed.order_number == "ORD-20260515-0042"
    assert (parsed.status, parsed.payment_status, parsed.is_test) == ("pending", "captured", True)
    assert parsed.grand_total == Decimal("1087.96")
    assert parsed.subtotal == Decimal("999.98")
    assert parsed.shipping_total == Decimal("8.99")
    assert parsed.discount_total == Decimal("10.00")
    assert parsed.tax_total == Decimal("88.99")
    assert parsed.gift_card_total == Decimal("50.00")
    assert parsed.amount_charged == Decimal("1037.96")
    assert parsed.promo_code == "SPRING10"
    assert parsed.payment_intent_id == "pi_3Nabc"
    assert (parsed.tracking_number, parsed.shipping_carrier) == ("", "")
    assert parsed.created_at == dt.datetime(2026, 5, 15, 14, 23, tzinfo=dt.UTC)
    assert parsed.updated_at == dt.datetime(2026, 5, 15, 14, 23, 5, tzinfo=dt.UTC)
    assert parsed.billing == Address(
        name="Alice Buyer",
        address1="123 Main St",
        address2="",
        city="Brooklyn",
        state="NY",
        zip="11201",
        country="US",
        email="alice@example.com",
        phone="555-1234",
    )
    assert parsed.shipping is not None
    assert parsed.shipping.address2 == "Apt 4"
    assert parsed.shipping_method == ShippingMethod(
        method="ground", carrier="UPS", service="UPS Ground", cost=Decimal("8.99")
    )
    [item] = parsed.items
    assert (item.sku, item.quantity, item.variant_id) == ("IPH13-128-BLU-A", 2, 101)
    assert (item.unit_price, item.line_total) == (Decimal("499.99"), Decimal("999.98"))


def test_money_is_exact_decimal_never_float() -> None:
    parsed = Order.from_api(order(grand_total=0.1 + 0.2, subtotal=1234.5, tax_total=3))

    assert parsed.grand_total == Decimal("0.30")
    assert parsed.subtotal == Decimal("1234.50")
    assert parsed.tax_total == Decimal("3.00")
    assert all(
        isinstance(v, Decimal)
        for v in (parsed.grand_total, parsed.subtotal, parsed.tax_total, parsed.amount_charged)
    )


def test_the_documented_minimal_order_is_enough() -> None:
    minimal = {
        "id": 1234,
        "order_number": "ORD-20260515-0042",
        "status": "pending",
        "payment_status": "captured",
        "grand_total": 1234.56,
        "is_test": False,
        "items": [],
    }

    parsed = Order.from_api(minimal)

    assert parsed.grand_total == Decimal("1234.56")
    assert parsed.billing is None
    assert parsed.subtotal is None
    assert parsed.created_at is None
    assert parsed.cart_id == ""


def test_unknown_statuses_and_fields_are_kept() -> None:
    data = order(status="on_hold", payment_status="disputed", loyalty_points=12)

    parsed = Order.from_api(data)

    assert parsed.status == "on_hold"
    assert parsed.payment_status == "disputed"
    assert not parsed.has_known_status
    assert not parsed.is_final
    assert parsed.raw["loyalty_points"] == 12


def test_raw_is_left_out_of_equality_and_repr() -> None:
    first = Order.from_api(order(extra="a"))
    second = Order.from_api(order(extra="b"))

    assert first == second
    assert "raw" not in repr(first)
    assert "extra" not in repr(first)


def test_results_are_frozen() -> None:
    parsed = Order.from_api(ORDER)

    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.status = "shipped"  # type: ignore[misc]


def test_status_constants() -> None:
    assert ORDER_STATUSES == (
        "pending",
        "processing",
        "shipped",
        "delivered",
        "cancelled",
        "refunded",
    )
    assert FINAL_ORDER_STATUSES == ("cancelled", "refunded")
    assert Order.from_api(order(status=OrderStatus.REFUNDED)).is_final
    # delivered -> refunded is still possible, so reconciliation keeps polling it.
    assert not Order.from_api(order(status="delivered")).is_final


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"payment_intent_id": "pi_a", "gateway_id": "pi_b"}, "pi_a"),
        ({"gateway_id": "pi_b"}, "pi_b"),
        ({"payment": {"method": "stripe", "gateway_id": "pi_c"}}, "pi_c"),
        ({}, ""),
    ],
)
def test_payment_intent_id_sources(source: dict[str, object], expected: str) -> None:
    data = {k: v for k, v in ORDER.items() if k != "gateway_id"} | source

    assert Order.from_api(data).payment_intent_id == expected


def test_email_falls_back_to_billing() -> None:
    assert Order.from_api(order(email=None)).email == "alice@example.com"


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", None), ("id", "abc"), ("order_number", None), ("grand_total", "lots"), ("items", 3)],
)
def test_a_malformed_order_is_refused(field: str, value: object) -> None:
    with pytest.raises(ResponseFormatError):
        Order.from_api(order(**{field: value}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-15T14:23:00Z", dt.datetime(2026, 5, 15, 14, 23, tzinfo=dt.UTC)),
        (
            "2026-05-15T10:23:00-04:00",
            dt.datetime(2026, 5, 15, 14, 23, tzinfo=dt.UTC),
        ),
        ("2026-05-15T14:23:00", dt.datetime(2026, 5, 15, 14, 23, tzinfo=dt.UTC)),
        (None, None),
        ("", None),
    ],
)
def test_datetimes_are_aware(text: str | None, expected: dt.datetime | None) -> None:
    parsed = parse_datetime(text)

    assert parsed == expected
    assert parsed is None or parsed.tzinfo is not None


def test_product_and_variants() -> None:
    product = Product.from_api(PRODUCT)

    assert (product.id, product.slug, product.category, product.brand) == (
        7,
        "iphone-13",
        "phones",
        "Apple",
    )
    assert product.raw["seo_title"] == "not a field we know"
    assert product.in_stock
    variant = product.get_variant(101)
    assert variant is not None
    assert variant.price == Decimal("499.99")
    assert variant.compare_at_price == Decimal("599.00")
    assert variant.weight_oz == Decimal("6.14")
    assert variant.attributes == {"color": "Blue", "storage": "128GB", "condition": "A"}
    sold_out = product.get_variant(102)
    assert sold_out is not None
    assert not sold_out.in_stock
    assert product.get_variant(999) is None


def test_product_with_an_embedded_category_and_no_stock() -> None:
    data = {
        **PRODUCT,
        "category": {"id": 3, "name": "Phones", "slug": "phones"},
        "variants": [{**VARIANT, "quantity_available": 0}],
    }

    product = Product.from_api(data)

    assert (product.category, product.category_id) == ("Phones", 3)
    assert not product.in_stock


def test_variant_attributes_at_top_level_and_optional_compare_price() -> None:
    data = {k: v for k, v in VARIANT.items() if k not in ("attributes", "compare_at_price")}
    data |= {"color": "Red", "carrier": "Unlocked"}

    variant = Variant.from_api(data)

    assert variant.attributes == {"color": "Red", "carrier": "Unlocked"}
    assert variant.compare_at_price is None


def test_cart_fills_in_what_it_can() -> None:
    data = {"id": "c1", "items": CART["items"]}

    cart = Cart.from_api(data)

    assert cart.item_count == 2
    assert cart.subtotal == Decimal("0.00")
    assert not cart.locked


def test_a_cart_with_an_order_is_locked() -> None:
    assert Cart.from_api({**CART, "order_id": 5}).locked


def test_carts_and_orders_name_their_currency_or_the_apis() -> None:
    assert Cart.from_api({**CART, "currency": "eur"}).currency == "EUR"
    assert Cart.from_api({k: v for k, v in CART.items() if k != "currency"}).currency == "USD"
    assert Order.from_api(order(currency="jpy")).currency == "JPY"
    assert Order.from_api(order()).currency == API_CURRENCY == "USD"
    assert Order.from_api(order(currency="??")).currency == "USD"
