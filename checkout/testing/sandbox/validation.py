"""Validation of request bodies: addresses and the ``POST /orders`` body, field by field."""

from __future__ import annotations

import re
from typing import Any

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

SHIPPING_REQUIRED_FOR_RATES = ("zip",)
_BILLING_REQUIRED = ("name", "email", "phone", "address1", "city", "state", "zip", "country")
_SHIPPING_REQUIRED = ("name", "address1", "city", "state", "zip", "country")
# Many countries have no states and some no postal codes (Germany; Hong Kong): the API
# takes an empty one outside the US, where the shopper's form had no such field.
_REGIONAL = ("state", "zip")
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


def clean_address(address: dict[str, Any]) -> dict[str, Any]:
    return {k: address.get(k) for k in _ADDRESS_KEYS if k in address or k == "address2"}


def address_errors(address: Any, prefix: str, required: tuple[str, ...]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(address, dict):
        return {prefix: ["This field is required and must be an object."]}
    country = str(address.get("country") or "US").upper()
    for name in required:
        if name in _REGIONAL and country != "US":
            continue
        value = address.get(name)
        if not isinstance(value, str) or not value.strip():
            errors[f"{prefix}.{name}"] = ["This field is required."]
    for name in ("address2", "phone", "email", "company"):
        if address.get(name) is not None and not isinstance(address.get(name), str):
            errors[f"{prefix}.{name}"] = ["Must be a string."]
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
    errors.update(address_errors(body.get("billing"), "billing", _BILLING_REQUIRED))
    errors.update(address_errors(body.get("shipping"), "shipping", _SHIPPING_REQUIRED))
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
