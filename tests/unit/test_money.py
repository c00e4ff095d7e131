"""Money as the shopper reads it and as Stripe counts it: each currency's minor units,
and amounts written in the active language (babel, CLDR)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from checkout.money import (
    currency_exponent,
    format_money,
    from_minor_units,
    intl_locale,
    to_minor_units,
)

NBSP = "\xa0"


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("USD", 2), ("usd", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3)],
)
def test_each_currency_has_its_exponent(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        (Decimal("12.34"), "USD", 1234),
        (Decimal("0.01"), "USD", 1),
        (Decimal("10"), "USD", 1000),
        (Decimal("19.995"), "USD", 2000),
        (Decimal("1234567.89"), "USD", 123456789),
        (Decimal("1234"), "JPY", 1234),
        (Decimal("1234.5"), "JPY", 1235),
        (Decimal("12.345"), "KWD", 12345),
        (Decimal("0.0005"), "KWD", 1),
    ],
)
def test_to_minor_units_and_back(amount: Decimal, currency: str, units: int) -> None:
    assert to_minor_units(amount, currency=currency) == units
    step = Decimal(1).scaleb(-currency_exponent(currency))
    assert from_minor_units(units, currency=currency) == amount.quantize(
        step, rounding="ROUND_HALF_UP"
    )


def test_minor_units_keep_the_currency_decimals() -> None:
    assert str(from_minor_units(1234, currency="USD")) == "12.34"
    assert str(from_minor_units(1234, currency="JPY")) == "1234"
    assert str(from_minor_units(1234, currency="KWD")) == "1.234"


@given(
    units=st.integers(min_value=0, max_value=10**12),
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_minor_units_round_trip(units: int, currency: str) -> None:
    assert to_minor_units(from_minor_units(units, currency=currency), currency=currency) == units


def test_floats_and_non_currencies_are_refused() -> None:
    with pytest.raises(TypeError):
        to_minor_units(12.34, currency="USD")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="currency code"):
        to_minor_units(Decimal("1"), currency="dollars")


def test_localstripe_string_amounts_are_read() -> None:
    assert from_minor_units("1234", currency="usd") == Decimal("12.34")


@pytest.mark.parametrize(
    ("language", "amount", "currency", "text"),
    [
        ("en-us", "1234.56", "USD", "$1,234.56"),
        ("en", "0", "USD", "$0.00"),
        ("de", "1234.56", "USD", f"1.234,56{NBSP}$"),
        ("de", "1234.56", "EUR", f"1.234,56{NBSP}€"),
        ("fr", "1234.56", "EUR", f"1\u202f234,56{NBSP}€"),
        ("ja", "1234", "JPY", "￥1,234"),
        ("en-us", "1234", "JPY", "¥1,234"),
        ("en-us", "1.234", "KWD", "KWD1.234"),
        ("en-us", "-25", "USD", "\u2212$25.00"),
        ("de", "-25", "USD", f"\u221225,00{NBSP}$"),
    ],
)
def test_amounts_are_written_in_the_language(
    language: str, amount: str, currency: str, text: str
) -> None:
    assert format_money(Decimal(amount), currency=currency, language=language) == text


def test_the_active_language_is_used_and_an_unknown_one_falls_back() -> None:
    with translation.override("de"):
        assert format_money(Decimal("5"), currency="USD") == f"5,00{NBSP}$"
        assert intl_locale() == "de"
    with translation.override("en-us"):
        assert intl_locale() == "en-US"
    with override_settings(LANGUAGE_CODE="en-us"):
        assert format_money(Decimal("5"), currency="USD", language="xx-yy") == "$5.00"


def test_money_filter_formats_in_the_active_language_and_given_currency() -> None:
    template = Template(
        "{% load checkout_tags %}{{ amount|money }}|{{ amount|money:'EUR' }}|{{ bad|money }}"
    )
    context = Context({"amount": Decimal("1234.5"), "bad": "abc"})
    with translation.override("de"):
        assert template.render(context) == f"1.234,50{NBSP}$|1.234,50{NBSP}€|"
    with translation.override("en"):
        assert template.render(context) == "$1,234.50|€1,234.50|"
