"""Order service pieces that need neither a database nor a network.

The payload we post, the mapping of an API order to local fields, and which step a
refusal sends the shopper back to.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from checkout.exceptions import (
    SpectraAuthenticationError,
    SpectraPaymentRefused,
    SpectraValidationError,
)
from checkout.models import CheckoutAttempt, Order
from checkout.services import orders
from checkout.services.orders import placement
from checkout.services.spectra import Order as RemoteOrder

ADDRESS = {
    "name": "Alice Buyer",
    "address1": "123 Main St",
    "address2": "",
    "city": "Brooklyn",
    "state": "ny",
    "zip": "11201",
    "country": "us",
}


def _attempt(**overrides: Any) -> CheckoutAttempt:
    fields: dict[str, Any] = {
        "cart_id": "cart-1",
        "email": "alice@example.com",
        "phone": "555-1234",
        "shipping_address": ADDRESS,
        "shipping_rate": {
            "carrier": "UPS",
            "service": "UPS Ground",
            "service_code": "ups_ground",
            "method": "ground",
            "price": "8.99",
        },
        "shipping_total": Decimal("8.99"),
        "payment_intent_id": "pi_1",
    }
    fields.update(overrides)
    return CheckoutAttempt(**fields)


def test_payload_follows_the_place_an_order_guide() -> None:
    payload = orders.order_payload(_attempt(promo_code="SAVE10"))

    assert payload["cart_id"] == "cart-1"
    assert payload["billing"] == {
        "name": "Alice Buyer",
        "address1": "123 Main St",
        "address2": "",
        "city": "Brooklyn",
        "state": "NY",
        "zip": "11201",
        "country": "US",
        "email": "alice@example.com",
        "phone": "555-1234",
    }
    assert payload["shipping"]["state"] == "NY"
    assert "email" not in payload["shipping"]
    assert payload["shipping_method"] == {
        "method": "ground",
        "carrier": "UPS",
        "service": "UPS Ground",
        "cost": Decimal("8.99"),
    }
    assert payload["payment"] == {"method": "stripe", "gateway_id": "pi_1", "promo_code": "SAVE10"}


def test_payload_without_payment_intent_when_a_gift_card_covers_all() -> None:
    payload = orders.order_payload(_attempt(payment_intent_id="", gift_card_code="CARDHUGE"))
    assert payload["payment"] == {"method": "stripe", "gift_card_code": "CARDHUGE"}


def test_payload_uses_the_separate_billing_address() -> None:
    billing = {**ADDRESS, "name": "Bob Payer", "zip": "10001"}
    payload = orders.order_payload(
        _attempt(billing_same_as_shipping=False, billing_address=billing)
    )
    assert payload["billing"]["name"] == "Bob Payer"
    assert payload["shipping"]["name"] == "Alice Buyer"


def test_fields_from_remote_order() -> None:
    remote = RemoteOrder.from_api(
        {
            "id": 1001,
            "order_number": "ORD-20260515-0042",
            "status": "pending",
            "payment_status": "captured",
            "grand_total": 108.87,
            "subtotal": 100.0,
            "shipping_total": 8.99,
            "discount_total": 10.0,
            "tax_total": 9.88,
            "gift_card_total": 25.0,
            "amount_charged": 83.87,
            "is_test": True,
            "cart_id": "cart-1",
            "email": "alice@example.com",
            "billing": {**ADDRESS, "email": "alice@example.com"},
            "shipping": ADDRESS,
            "shipping_method": {"carrier": "UPS", "service": "UPS Ground", "cost": 8.99},
            "items": [{"sku": "X-1", "name": "Phone", "quantity": 1, "unit_price": 100.0}],
            "promo_code": "SAVE10",
            "payment_intent_id": "pi_1",
            "created_at": "2026-05-15T10:00:00+00:00",
        }
    )

    fields = orders.order_fields_from_remote(remote)

    assert fields["spectra_id"] == 1001
    assert fields["order_number"] == "ORD-20260515-0042"
    assert fields["customer_name"] == "Alice Buyer"
    assert fields["grand_total"] == Decimal("108.87")
    assert fields["amount_charged"] == Decimal("83.87")
    assert fields["gift_card_total"] == Decimal("25.00")
    assert fields["is_test"] is True
    assert fields["payment_intent_id"] == "pi_1"
    assert fields["items"][0]["sku"] == "X-1"
    assert fields["placed_at"].isoformat() == "2026-05-15T10:00:00+00:00"
    assert set(fields) <= {f.name for f in Order._meta.get_fields()} | {"spectra_id"}


def test_fields_from_a_minimal_documented_order() -> None:
    remote = RemoteOrder.from_api(
        {
            "id": 1234,
            "order_number": "ORD-20260515-0042",
            "status": "pending",
            "payment_status": "captured",
            "grand_total": 1234.56,
            "is_test": False,
            "items": [],
        }
    )
    fields = orders.order_fields_from_remote(remote)
    assert fields["amount_charged"] == Decimal("1234.56")
    assert fields["billing"] == {}


@pytest.mark.parametrize(
    ("error", "step"),
    [
        (SpectraPaymentRefused("x", status=402, code="payment_amount_mismatch"), "payment"),
        (SpectraPaymentRefused("x", status=402, code="payment_not_authorized"), "payment"),
        (
            SpectraValidationError(
                "x", status=422, code="insufficient_stock", fields={"items.A": ["Only 1."]}
            ),
            None,
        ),
        (SpectraValidationError("x", status=422, code="invalid_shipping_method"), "shipping"),
        (
            SpectraValidationError(
                "x", status=422, code="validation_error", fields={"shipping.zip": ["Bad."]}
            ),
            "information",
        ),
        (
            SpectraValidationError(
                "x", status=422, code="validation_error", fields={"billing.zip": ["Bad."]}
            ),
            "payment",
        ),
        (
            SpectraValidationError(
                "x",
                status=422,
                code="invalid_promo_code",
                fields={"payment.promo_code": ["Expired."]},
            ),
            "payment",
        ),
        (SpectraAuthenticationError("x", status=401, code="invalid_key"), "payment"),
    ],
)
def test_refusals_name_the_step_that_can_fix_them(error: Any, step: str | None) -> None:
    got_code, message, got_step = placement._rejection(error)
    assert got_code == error.code
    assert got_step == step
    assert message
    assert "spk_" not in message


def test_out_of_stock_message_names_the_item_problem() -> None:
    error = SpectraValidationError(
        "x", status=422, code="insufficient_stock", fields={"items.SKU-1": ["Only 1 available."]}
    )
    _code, message, _step = placement._rejection(error)
    assert "Only 1 available." in message
