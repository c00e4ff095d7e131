"""Addresses and phones of every country: each country's rules, format and phone numbers."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import override_settings
from django.utils import translation

from checkout.addresses import (
    AddressError,
    PhoneError,
    address_lines,
    address_normalize,
    address_rules,
    country_is_known,
    phone_display,
    phone_normalize,
    shipping_countries,
)

US = {
    "name": "Ann Lee",
    "address1": "1 Main St",
    "address2": "Apt 4B",
    "city": "New York",
    "state": "NY",
    "zip": "10001",
    "country": "US",
}
DE = {
    "name": "Erika Mustermann",
    "address1": "Heidestraße 17",
    "address2": "",
    "city": "Köln",
    "state": "",
    "zip": "51147",
    "country": "DE",
}
JP = {
    "name": "Yamada Taro",
    "address1": "1-1 Chiyoda",
    "address2": "",
    "city": "Chiyoda-ku",
    "state": "東京都",
    "zip": "100-0001",
    "country": "JP",
}


def test_each_country_writes_its_address_its_own_way() -> None:
    assert address_lines(US) == [
        "Ann Lee",
        "1 Main St",
        "Apt 4B",
        "New York, NY 10001",
        "United States of America",
    ]
    assert address_lines(DE) == ["Erika Mustermann", "Heidestraße 17", "51147 Köln", "Germany"]
    # Japan starts with the postal code and the prefecture, the name last.
    assert address_lines(JP)[0] == "〒100-0001"
    assert address_lines(JP)[-2:] == ["Yamada Taro", "Japan"]
    assert address_lines({}) == []


def test_the_country_is_named_in_the_active_language() -> None:
    with translation.override("de"):
        assert address_lines(DE)[-1] == "Deutschland"


def test_a_missing_part_leaves_no_stray_separator() -> None:
    lines = address_lines({**US, "state": "", "address2": ""})
    assert "New York, 10001" not in lines
    assert "New York 10001" in lines


def test_pages_and_emails_show_the_address_in_its_countrys_format() -> None:
    block = render_to_string("checkout/includes/address.html", {"address": DE})
    assert "Heidestraße 17<br>51147 Köln<br>Germany</address>" in block
    line = render_to_string("checkout/includes/address_line.html", {"address": DE})
    assert ">Erika Mustermann, Heidestraße 17, 51147 Köln, Germany</span>" in line
    email = render_to_string(
        "checkout/email/includes/order_summary.txt",
        {"items": [], "totals": [], "grand_total": 0, "currency": "USD", "shipping_address": DE},
    )
    assert "Erika Mustermann, Heidestraße 17, 51147 Köln, Germany" in email


def test_rules_give_each_country_its_fields_labels_and_regions() -> None:
    us = address_rules("US")
    assert us.lines == (("name",), ("address1",), ("address2",), ("city", "state", "zip"))
    assert us.required == {"name", "address1", "city", "state", "zip"}
    assert (str(us.label("state")), str(us.label("zip"))) == ("State", "ZIP code")
    gb = address_rules("GB")
    assert "state" not in gb.fields
    assert (str(gb.label("city")), str(gb.label("zip"))) == ("Town or city", "Postal code")
    ie = address_rules("IE")
    assert (str(ie.label("state")), str(ie.label("zip"))) == ("County", "Eircode")
    ca = address_rules("CA")
    assert dict(ca.state_choices)["QC"] == "Quebec"
    assert len({key for key, _label in ca.state_choices}) == len(ca.state_choices)


def test_normalizing_fixes_case_and_refuses_what_the_country_does_not_take() -> None:
    gb = address_normalize(
        {"name": "A", "address1": "10 Downing St", "city": "London", "zip": "sw1a 2aa"}
        | {"country": "gb"}
    )
    assert (gb["zip"], gb["country"], gb["state"]) == ("SW1A 2AA", "GB", "")
    with pytest.raises(AddressError) as err:
        address_normalize({**DE, "zip": "ABCDE"})
    assert err.value.errors == {"zip": "Enter a valid postal code, like 26133."}
    with pytest.raises(AddressError) as err:
        address_normalize({**US, "state": "Bavaria"})
    assert set(err.value.errors) == {"state"}
    with pytest.raises(AddressError) as err:
        address_normalize({**US, "country": "XX"})
    assert set(err.value.errors) == {"country"}


@override_settings(CHECKOUT_SHIPPING_COUNTRIES=("US", "CA", "MX"))
def test_shipping_countries_are_the_settings_codes_named() -> None:
    assert shipping_countries() == [
        ("CA", "Canada"),
        ("MX", "Mexico"),
        ("US", "United States of America"),
    ]
    assert country_is_known("de")
    assert not country_is_known("XX")
    assert not country_is_known("")


@pytest.mark.parametrize(
    ("phone", "region", "expected"),
    [
        ("212-555-0100", "US", "+12125550100"),
        ("030 901820", "DE", "+4930901820"),
        ("+44 20 7946 0958", "DE", "+442079460958"),
        ("0049 30 901820", "DE", "+4930901820"),
    ],
)
def test_phones_become_e164(phone: str, region: str, expected: str) -> None:
    assert phone_normalize(phone=phone, region=region) == expected


@pytest.mark.parametrize(("phone", "region"), [("555-1234", "US"), ("call me", "US"), ("12", "DE")])
def test_invalid_phones_are_refused(phone: str, region: str) -> None:
    with pytest.raises(PhoneError):
        phone_normalize(phone=phone, region=region)


def test_phones_display_the_international_way() -> None:
    assert phone_display("+4930901820") == "+49 30 901820"
    assert phone_display("555-1234") == "555-1234"  # an old, unparsed value stays as it was
