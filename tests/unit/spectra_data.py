"""Sample Spectra API answers and URLs shared by the ``test_spectra_*`` unit tests."""

from __future__ import annotations

import copy
from typing import Any

API = "https://api.spectra.test/api/v1"
COMMERCE = "https://api.spectra.test/commerce-api/v1"
KEY = "spk_test_9f8e7d6c5b4a3210zyx"
CART_ID = "5b8f2a4e-6c1d-4e7a-9b3f-0a1b2c3d4e5f"


def ok(data: Any, pagination: dict[str, int] | None = None) -> dict[str, Any]:
    """Return a success envelope."""
    body: dict[str, Any] = {"success": True, "data": data}
    if pagination is not None:
        body["pagination"] = pagination
    return body


def error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """Return an error envelope."""
    return {"success": False, "error": {"code": code, "message": message, **extra}}


VARIANT: dict[str, Any] = {
    "id": 101,
    "sku": "IPH13-128-BLU-A",
    "price": 499.99,
    "compare_at_price": 599.0,
    "quantity_available": 4,
    "weight_oz": 6.14,
    "image_url": "https://cdn.spectra.test/iph13-blue.jpg",
    "attributes": {"color": "Blue", "storage": "128GB", "condition": "A"},
}

PRODUCT: dict[str, Any] = {
    "id": 7,
    "name": "iPhone 13",
    "slug": "iphone-13",
    "description": "Refurbished, tested.",
    "category": "phones",
    "brand": "Apple",
    "variants": [
        VARIANT,
        {**VARIANT, "id": 102, "sku": "IPH13-128-BLK-B", "quantity_available": 0},
    ],
    "seo_title": "not a field we know",
}

CART_ITEM: dict[str, Any] = {
    "id": 11,
    "variant_id": 101,
    "sku": "IPH13-128-BLU-A",
    "name": "iPhone 13 Blue 128GB",
    "unit_price": 499.99,
    "quantity": 2,
    "line_total": 999.98,
}

CART: dict[str, Any] = {
    "id": CART_ID,
    "items": [CART_ITEM],
    "subtotal": 999.98,
    "item_count": 2,
}

ORDER: dict[str, Any] = {
    "id": 1234,
    "order_number": "ORD-20260515-0042",
    "status": "pending",
    "payment_status": "captured",
    "grand_total": 1087.96,
    "is_test": True,
    "items": [
        {
            "sku": "IPH13-128-BLU-A",
            "name": "iPhone 13 Blue 128GB",
            "quantity": 2,
            "unit_price": 499.99,
            "line_total": 999.98,
            "variant_id": 101,
        }
    ],
    "cart_id": CART_ID,
    "email": "alice@example.com",
    "billing": {
        "name": "Alice Buyer",
        "email": "alice@example.com",
        "phone": "555-1234",
        "address1": "123 Main St",
        "city": "Brooklyn",
        "state": "NY",
        "zip": "11201",
        "country": "US",
    },
    "shipping": {
        "name": "Alice Buyer",
        "address1": "123 Main St",
        "address2": "Apt 4",
        "city": "Brooklyn",
        "state": "NY",
        "zip": "11201",
        "country": "US",
    },
    "shipping_method": {
        "method": "ground",
        "carrier": "UPS",
        "service": "UPS Ground",
        "cost": 8.99,
    },
    "subtotal": 999.98,
    "shipping_total": 8.99,
    "discount_total": 10.0,
    "tax_total": 88.99,
    "gift_card_total": 50.0,
    "amount_charged": 1037.96,
    "promo_code": "SPRING10",
    "tracking_number": None,
    "shipping_carrier": None,
    "gateway_id": "pi_3Nabc",
    "created_at": "2026-05-15T14:23:00+00:00",
    "updated_at": "2026-05-15T14:23:05Z",
}

ORDER_PAYLOAD: dict[str, Any] = {
    "cart_id": CART_ID,
    "billing": ORDER["billing"],
    "shipping": ORDER["shipping"],
    "shipping_method": ORDER["shipping_method"],
    "payment": {"method": "stripe", "gateway_id": "pi_3Nabc", "promo_code": "SPRING10"},
}


def order(**overrides: Any) -> dict[str, Any]:
    """Return a full order object with some fields replaced."""
    return {**copy.deepcopy(ORDER), **overrides}


def sent_kwargs(call: Any) -> dict[str, Any]:
    """Return the keyword arguments (timeout, ...) ``requests`` was called with."""
    return dict(call.request.req_kwargs)


def sent_params(call: Any) -> dict[str, str]:
    """Return the query parameters of a recorded request."""
    return dict(call.request.params)
