"""The address forms, made cheaper to build and validate, behave exactly as before.

``legacy_address_forms`` is a frozen copy of the forms before the change. Each case
builds the same form both ways and compares what the templates and the view see: every
field rendered as ``{% checkout_field %}`` and ``{{ field }}`` render it, the error
summary, widget attributes in order, errors, cleaned data, choices and labels, under
different allowed countries and languages (the cheap forms cache their configured
fields per class, countries and language).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.core.signals import setting_changed
from django.forms import fields as django_fields
from django.http import QueryDict
from django.template.loader import render_to_string
from django.test import override_settings
from django.utils import translation
from django.utils.translation import trans_real

from checkout import forms as checkout_forms
from checkout.forms import US_STATES, BillingForm, CodeForm, InformationForm
from checkout.templatetags.checkout_tags import checkout_field
from tests.unit import legacy_address_forms as legacy

VALID = {
    "email": "ann@example.com",
    "phone": "212-555-0100",
    "name": "Ann Lee",
    "address1": "1 Main St",
    "address2": "",
    "city": "New York",
    "state": "NY",
    "zip": "10001",
    "country": "US",
}

# name -> the POST data of a submitted information step
SUBMISSIONS: dict[str, dict[str, str]] = {
    "valid": VALID,
    "valid-lowercase-state": {**VALID, "state": "ny", "zip": " 10001-1234 "},
    "empty": {},
    "blank": dict.fromkeys(VALID, ""),
    "bad-email-zip-phone": {**VALID, "email": "nope", "zip": "1", "phone": "call me"},
    "missing-phone": {**VALID, "phone": ""},
    "unknown-state": {**VALID, "state": "ZZ"},
    "unknown-country": {**VALID, "country": "FR"},
    "too-long": {**VALID, "address2": "x" * 201, "name": "<b>" * 50},
    "markup": {**VALID, "name": '"><script>alert(1)</script>', "city": "A & B"},
    "canadian": {**VALID, "country": "CA", "state": "ON", "zip": "K1A 0B1"},
}

STATE_CHOICES = len(US_STATES) + 1  # and "Select a state"

INFORMATION_FIELDS = ["email", "phone", "country", "name", "address1", "address2", "city"]
INFORMATION_FIELDS += ["state", "zip"]

SETTINGS = {
    "us-only": ("US",),
    "us-ca": ("US", "CA"),
    "ca-only": ("CA",),
}

# Translations added to the French catalog for these tests (Django's own has "Email").
FRENCH = {
    "Select a state": "Choisissez un État",
    "Full name": "Nom complet",
    "Choose a US state.": "Choisissez un État américain.",
    "Enter a 5-digit ZIP code, like 10001.": "Saisissez un code postal à 5 chiffres.",
    "United States": "États-Unis",
    "State / province": "État / province",
}


@pytest.fixture
def french() -> Iterator[None]:
    """Add FRENCH to the French catalog (and forget address forms configured before)."""
    catalog = trans_real.translation("fr")._catalog
    first = catalog._catalogs[0]
    saved = {key: first[key] for key in FRENCH if key in first}
    first.update(FRENCH)
    checkout_forms._ADDRESS_SETUPS.clear()
    yield
    for key in FRENCH:
        first.pop(key, None)
    first.update(saved)
    checkout_forms._ADDRESS_SETUPS.clear()


def _post(data: dict[str, str], prefix: str = "") -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in data.items():
        query[f"{prefix}-{key}" if prefix else key] = value
    return query


def _seen(form: Any, names: list[str]) -> dict[str, Any]:
    """Return what the templates and the view see of ``form``."""
    valid = form.is_valid()
    seen: dict[str, Any] = {
        "valid": valid,
        "cleaned": dict(form.cleaned_data) if form.is_bound else None,
        "errors": {name: [str(e) for e in errs] for name, errs in form.errors.items()},
        "order": list(form.fields),
        "summary": render_to_string("checkout/includes/error_summary.html", {"form": form}),
        "include": [
            render_to_string("checkout/includes/field.html", {"field": form[name]})
            for name in names
        ],
    }
    for name in names:
        field = form.fields[name]
        seen[name] = {
            "tag": str(checkout_field(form[name])),
            "widget": str(form[name]),
            "attrs": list(field.widget.attrs.items()),
            "type": field.widget.input_type,
            "label": str(field.label),
            "help": str(field.help_text),
            "required": field.required,
            "initial": field.initial,
            "choices": [(v, str(label)) for v, label in getattr(field, "choices", [])],
            "messages": {key: str(m) for key, m in field.error_messages.items()},
        }
    # What the billing view does after an invalid submission.
    form.wire_accessibility()
    seen["rewired"] = {name: str(form[name]) for name in names}
    return seen


def _assert_same(new: Any, old: Any, names: list[str]) -> None:
    seen, expected = _seen(new, names), _seen(old, names)
    for key in expected:
        assert seen[key] == expected[key], key


@pytest.mark.parametrize("countries", SETTINGS.values(), ids=SETTINGS.keys())
@pytest.mark.parametrize("submission", SUBMISSIONS.keys())
@pytest.mark.parametrize("language", ["en-us", "fr", "de"])
def test_information_form_bound(
    french: None, language: str, submission: str, countries: tuple[str, ...]
) -> None:
    data = SUBMISSIONS[submission]
    with override_settings(CHECKOUT_ALLOWED_COUNTRIES=countries), translation.override(language):
        new = InformationForm(_post(data))
        old = legacy.InformationForm(_post(data))
        _assert_same(new, old, INFORMATION_FIELDS)


@pytest.mark.parametrize("countries", SETTINGS.values(), ids=SETTINGS.keys())
@pytest.mark.parametrize("language", ["en-us", "fr"])
@pytest.mark.parametrize("initial", [None, {"email": "a@b.co", "state": "NY", "zip": "10001"}])
def test_information_form_unbound(
    french: None, language: str, initial: dict[str, str] | None, countries: tuple[str, ...]
) -> None:
    with override_settings(CHECKOUT_ALLOWED_COUNTRIES=countries), translation.override(language):
        _assert_same(
            InformationForm(initial=initial),
            legacy.InformationForm(initial=initial),
            INFORMATION_FIELDS,
        )


@pytest.mark.parametrize("countries", SETTINGS.values(), ids=SETTINGS.keys())
@pytest.mark.parametrize("submission", [None, *SUBMISSIONS])
def test_billing_form(french: None, submission: str | None, countries: tuple[str, ...]) -> None:
    names = ["country", "name", "address1", "address2", "city", "state", "zip"]
    data = None if submission is None else _post(SUBMISSIONS[submission], "billing")
    with override_settings(CHECKOUT_ALLOWED_COUNTRIES=countries), translation.override("fr"):
        new = BillingForm(data, prefix="billing")
        old = legacy.BillingForm(data, prefix="billing")
        _assert_same(new, old, names)


@pytest.mark.parametrize("data", [None, {"code": " save 10 "}, {"code": ""}, {"code": "x" * 65}])
def test_code_form(data: dict[str, str] | None) -> None:
    new = CodeForm(data, prefix="promo", label="Promo code")
    old = legacy.CodeForm(data, prefix="promo", label="Promo code")
    _assert_same(new, old, ["code"])


@pytest.mark.parametrize("auto_id", [False, "%s", "field-%s"])
def test_other_ids_and_field_order(auto_id: str | bool) -> None:
    kwargs = {"auto_id": auto_id, "prefix": "ship", "field_order": ["zip", "city"]}
    data = _post(SUBMISSIONS["bad-email-zip-phone"], "ship")
    _assert_same(
        InformationForm(data, **kwargs), legacy.InformationForm(data, **kwargs), INFORMATION_FIELDS
    )


def test_pinned_markup() -> None:
    """A few fields exactly as the step renders them (independent of the legacy copy)."""
    with translation.override("en-us"):
        form = InformationForm(_post(SUBMISSIONS["bad-email-zip-phone"]))
        assert str(checkout_field(form["email"])) == (
            '\n<div class="field field--invalid" data-field="email">\n'
            '  <label for="id_email">Email</label>\n'
            '  <p class="field__help" id="id_email_help">'
            "We send the order confirmation and shipping updates here.</p>\n"
            '  <input type="email" name="email" value="nope" maxlength="320" aria-invalid="true"'
            ' aria-describedby="id_email_help id_email_error" required autocomplete="email"'
            ' spellcheck="false" autocapitalize="off" id="id_email">\n'
            '  <p class="field__error" id="id_email_error">Enter a valid email address.</p>\n'
            "</div>"
        )
        assert str(form["zip"]) == (
            '<input type="text" name="zip" value="1" maxlength="10"'
            ' autocomplete="shipping postal-code" inputmode="numeric" spellcheck="false"'
            ' aria-invalid="true" aria-describedby="id_zip_error" required id="id_zip">'
        )
        assert str(form["country"]) == (
            '<select name="country" autocomplete="shipping country" required id="id_country">\n'
            '  <option value="US" selected>United States</option>\n</select>'
        )
        billing = BillingForm(prefix="billing")
        assert str(billing["name"]) == (
            '<input type="text" name="billing-name" maxlength="120"'
            ' autocomplete="billing name" required id="id_billing-name">'
        )


def test_language_and_countries_switch_between_forms(french: None) -> None:
    with translation.override("fr"):
        assert InformationForm().fields["state"].choices[0] == ("", "Choisissez un État")
    with translation.override("en-us"):
        assert InformationForm().fields["state"].choices[0] == ("", "Select a state")
        with override_settings(CHECKOUT_ALLOWED_COUNTRIES=("US", "CA")):
            form = InformationForm()
            assert not hasattr(form.fields["state"], "choices")
            assert [c for c, _label in form.fields["country"].choices] == ["US", "CA"]
        assert len(InformationForm().fields["state"].choices) == STATE_CHOICES
    with translation.override("fr"), override_settings(CHECKOUT_ALLOWED_COUNTRIES=("US", "CA")):
        form = InformationForm(_post(SUBMISSIONS["unknown-state"]))
        assert form.errors["state"] == ["Choisissez un État américain."]
        assert form.fields["state"].label == "État / province"


def test_configured_fields_are_keyed_on_countries_and_language(french: None) -> None:
    """Without the setting_changed reset (production never changes settings)."""
    uid = "checkout.forms.address_setups"
    assert setting_changed.disconnect(dispatch_uid=uid)
    try:
        for countries, language in [(("US",), "fr"), (("US", "CA"), "fr"), (("US",), "en-us")]:
            settings = override_settings(CHECKOUT_ALLOWED_COUNTRIES=countries)
            with settings, translation.override(language):
                data = _post(SUBMISSIONS["unknown-state"])
                new, old = InformationForm(data), legacy.InformationForm(data)
                _assert_same(new, old, INFORMATION_FIELDS)
    finally:
        setting_changed.connect(checkout_forms._forget_address_setups, dispatch_uid=uid)


def test_bound_form_is_validated_once_and_not_in_init() -> None:
    with mock.patch.object(
        InformationForm, "clean", autospec=True, side_effect=InformationForm.clean
    ) as clean:
        form = InformationForm(_post(VALID))
        assert form._errors is None  # no validation while building
        assert form.is_valid()
        str(checkout_field(form["state"]))
    assert clean.call_count == 1


def test_choices_are_not_normalized_per_form() -> None:
    InformationForm()  # configure once for this language and these countries
    with mock.patch.object(
        django_fields, "normalize_choices", wraps=django_fields.normalize_choices
    ) as normalize:
        form = InformationForm(_post(VALID))
        assert form.is_valid()
    assert normalize.call_count == 0
    assert len(form.fields["state"].choices) == STATE_CHOICES
    assert form.fields["state"].widget.choices == form.fields["state"].choices


def test_forms_do_not_share_mutable_state() -> None:
    first, second = InformationForm(_post(SUBMISSIONS["missing-phone"])), InformationForm()
    assert first.errors
    first.fields["state"].choices.append(("XX", "Nowhere"))
    first.fields["state"].widget.choices.append(("XX", "Nowhere"))
    first.fields["name"].widget.attrs["data-x"] = "1"
    first.fields["name"].error_messages["required"] = "changed"
    first.fields["email"].validators.append(lambda value: None)
    third = InformationForm()
    for other in (second, third):
        assert len(other.fields["state"].choices) == STATE_CHOICES
        assert len(other.fields["state"].widget.choices) == STATE_CHOICES
        assert "data-x" not in other.fields["name"].widget.attrs
        assert other.fields["name"].error_messages["required"] != "changed"
        assert len(other.fields["email"].validators) == len(second.fields["email"].validators)
        assert "aria-invalid" not in other.fields["phone"].widget.attrs
    assert first.fields["state"].widget is not third.fields["state"].widget
    # The class's declared fields are untouched and show through the instance.
    assert "base_fields" not in vars(third)
    assert third.base_fields is InformationForm.base_fields
    assert InformationForm.base_fields["state"].choices == []
    assert InformationForm.base_fields["name"].widget.attrs == {"maxlength": "120"}


def test_fields_still_deep_copy() -> None:
    form = InformationForm(_post(VALID))
    copied = copy.deepcopy(form.fields)
    assert list(copied) == list(form.fields)
    for name, field in copied.items():
        original = form.fields[name]
        assert type(field) is type(original)
        assert field is not original
        assert field.widget is not original.widget
        assert field.widget.attrs == original.widget.attrs
        assert field.widget.attrs is not original.widget.attrs
        assert getattr(field, "choices", None) == getattr(original, "choices", None)
