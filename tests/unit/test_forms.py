"""The shopper's forms: what they accept, the errors they give, and how their fields render.

No database: forms are built from POST-like data and rendered through Django's form
renderer with the checkout's field template.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.http import QueryDict
from django.template.loader import render_to_string
from django.test import override_settings

from checkout.forms import (
    FIELD_TEMPLATE_NAME,
    AddToCartForm,
    BillingForm,
    CodeForm,
    InformationForm,
    ShippingMethodForm,
)
from checkout.services.spectra import Product, ShippingRate, Variant

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
REQUIRED = {"email", "phone", "name", "address1", "city", "state", "zip", "country"}

RATES = [
    ShippingRate(
        carrier="UPS",
        service="UPS Ground",
        service_code="ups_ground",
        price=Decimal("0.00"),
        estimated_delivery=None,
        transit_days=5,
    ),
    ShippingRate(
        carrier="FedEx",
        service="FedEx 2Day",
        service_code="fedex_2day",
        price=Decimal("19.99"),
        estimated_delivery=None,
        transit_days=2,
    ),
]


def _post(data: dict[str, str], prefix: str = "") -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in data.items():
        query[f"{prefix}-{key}" if prefix else key] = value
    return query


def _variant(variant_id: int, quantity: int, **attributes: str) -> Variant:
    return Variant(
        id=variant_id,
        sku=f"SKU-{variant_id}",
        price=Decimal("499.00"),
        compare_at_price=None,
        quantity_available=quantity,
        weight_oz=Decimal(6),
        image_url="",
        attributes=attributes,
    )


PHONE = Product(
    id=1,
    name="Pixel 8",
    slug="pixel-8",
    description="",
    category="Phones",
    brand="Google",
    variants=(
        _variant(11, 3, color="Black", storage="128GB"),
        _variant(12, 0, color="Black", storage="256GB"),
        _variant(13, 2, color="Blue", storage="128GB"),
    ),
)


# --- What the address forms accept ------------------------------------------------------


def test_a_valid_address_is_cleaned_into_the_api_shape() -> None:
    form = InformationForm(_post({**VALID, "zip": " 10001-1234 "}))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["email"] == "ann@example.com"
    assert form.address() == {
        "name": "Ann Lee",
        "address1": "1 Main St",
        "address2": "",
        "city": "New York",
        "state": "NY",
        "zip": "10001-1234",
        "country": "US",
    }


def test_every_field_but_the_second_address_line_is_required() -> None:
    form = InformationForm(_post(dict.fromkeys(VALID, "")))
    assert not form.is_valid()
    assert set(form.errors) == REQUIRED
    assert form.errors["name"] == ["This field is required."]


NOT_A_CHOICE = "Select a valid choice. %s is not one of the available choices."
PHONE_ERROR = (
    "Enter a valid phone number, like %s. Start a number from another country with + and "
    "its country code."
)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "nope"}, "email", "Enter a valid email address."),
        ({"zip": "1"}, "zip", "Enter a valid ZIP code, like 95014."),
        ({"phone": "call me"}, "phone", PHONE_ERROR % "(201) 555-0123"),
        ({"phone": "555-1234"}, "phone", PHONE_ERROR % "(201) 555-0123"),
        ({"state": "ZZ"}, "state", NOT_A_CHOICE % "ZZ"),
        ({"country": "FR"}, "country", NOT_A_CHOICE % "FR"),
        (
            {"address2": "x" * 201},
            "address2",
            "Ensure this value has at most 200 characters (it has 201).",
        ),
    ],
)
def test_bad_values_get_an_error_on_their_field(
    changes: dict[str, str], field: str, message: str
) -> None:
    form = InformationForm(_post({**VALID, **changes}))
    assert not form.is_valid()
    assert form.errors == {field: [message]}


def test_us_offers_its_states_and_territories_with_a_placeholder() -> None:
    form = InformationForm()
    state = form.fields["state"]
    choices = dict(state.choices[1:])  # type: ignore[attr-defined]
    assert state.choices[0] == ("", "Select")  # type: ignore[attr-defined]
    assert choices["NY"] == "New York"
    assert choices["PR"] == "Puerto Rico"
    assert len(choices) > 50
    assert str(state.label) == "State"
    assert str(form.fields["zip"].label) == "ZIP code"
    assert [code for code, _name in form.fields["country"].choices] == ["US"]  # type: ignore[attr-defined]


def test_a_region_typed_as_its_name_is_stored_as_its_code() -> None:
    for typed in (" ny ", "New York", "new york"):
        form = InformationForm(_post({**VALID, "state": typed}))
        assert form.is_valid(), form.errors
        assert form.address()["state"] == "NY"


@override_settings(CHECKOUT_SHIPPING_COUNTRIES=("US", "CA"))
def test_shipping_countries_come_from_the_setting_and_each_has_its_rules() -> None:
    form = InformationForm()
    assert [code for code, _name in form.fields["country"].choices] == ["CA", "US"]  # type: ignore[attr-defined]
    assert form.country_code == "US"
    canadian = InformationForm(
        _post({**VALID, "country": "CA", "state": "ON", "zip": "k1a0b1", "shown_country": "CA"})
    )
    assert str(canadian.fields["state"].label) == "Province"
    assert str(canadian.fields["zip"].label) == "Postal code"
    assert canadian.is_valid(), canadian.errors
    assert canadian.address()["state"] == "ON"
    assert canadian.address()["zip"] == "K1A0B1"
    wrong = InformationForm(_post({**VALID, "country": "CA", "state": "ON", "zip": "10001"}))
    assert wrong.errors == {"zip": ["Enter a valid postal code, like H3Z 2Y7."]}


def test_the_billing_country_may_be_any_country() -> None:
    countries = [code for code, _name in BillingForm().fields["country"].choices]  # type: ignore[attr-defined]
    assert {"US", "DE", "JP", "BR", "GB", "HK"} <= set(countries)
    assert len(countries) > 200
    assert "Germany" in dict(BillingForm().fields["country"].choices).values()  # type: ignore[attr-defined]


GERMAN = {
    "country": "DE",
    "shown_country": "DE",
    "name": "Erika Mustermann",
    "address1": "Heidestraße 17",
    "address2": "",
    "city": "Köln",
    "zip": "51147",
}


def test_a_german_address_has_no_state_and_its_postcode_before_the_city() -> None:
    form = BillingForm(prefix="billing", initial={"country": "DE"})
    assert "state" not in form.fields
    assert str(form.fields["zip"].label) == "Postal code"
    lines = [[field.name for field in line] for line in form.address_fields]
    assert lines == [["name"], ["address1"], ["address2"], ["zip", "city"]]
    bound = BillingForm(_post(GERMAN, "billing"), prefix="billing")
    assert bound.is_valid(), bound.errors
    assert bound.address() == {
        "name": "Erika Mustermann",
        "address1": "Heidestraße 17",
        "address2": "",
        "city": "Köln",
        "state": "",
        "zip": "51147",
        "country": "DE",
    }
    bad = BillingForm(_post({**GERMAN, "zip": "5114"}, "billing"), prefix="billing")
    assert bad.errors == {"zip": ["Enter a valid postal code, like 26133."]}


def test_countries_without_postal_codes_do_not_ask_for_one() -> None:
    form = BillingForm(
        _post(
            {
                "country": "HK",
                "shown_country": "HK",
                "name": "Chan Tai Man",
                "address1": "1 Queen's Road Central",
                "state": "Hong Kong Island",
            },
            "billing",
        ),
        prefix="billing",
    )
    assert "zip" not in form.fields
    assert form.is_valid(), form.errors
    assert form.address()["zip"] == ""


def test_a_new_country_shows_its_fields_again_with_what_was_typed() -> None:
    form = BillingForm(_post({**GERMAN, "shown_country": "US"}, "billing"), prefix="billing")
    assert form.country_changed
    fresh = form.refreshed()
    assert not fresh.is_bound
    assert fresh.country_code == "DE"
    assert "state" not in fresh.fields
    html = fresh["address1"].as_field_group()
    assert 'value="Heidestraße 17"' in html
    assert 'name="billing-address1"' in html
    assert 'name="billing-shown_country" value="DE"' in str(fresh["shown_country"])
    assert not BillingForm(_post(GERMAN, "billing"), prefix="billing").country_changed


@pytest.mark.parametrize(
    ("country", "phone", "expected"),
    [
        ("US", "(212) 555-0100", "+12125550100"),
        ("US", "+49 30 901820", "+4930901820"),
        ("GB", "020 7946 0958", "+442079460958"),
    ],
)
def test_phones_are_read_in_the_address_country_and_kept_in_e164(
    country: str, phone: str, expected: str
) -> None:
    rules = {
        "US": {},
        "GB": {"country": "GB", "state": "", "city": "London", "zip": "SW1A 1AA"},
    }[country]
    with override_settings(CHECKOUT_SHIPPING_COUNTRIES=("US", "GB")):
        form = InformationForm(_post({**VALID, **rules, "phone": phone, "shown_country": country}))
        assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == expected


def test_billing_form_is_prefixed_and_autocompletes_the_billing_section() -> None:
    form = BillingForm(_post({**VALID, "zip": "x"}, "billing"), prefix="billing")
    assert form.errors == {"zip": ["Enter a valid ZIP code, like 95014."]}
    html = form["name"].as_field_group()
    assert 'name="billing-name"' in html
    assert 'id="id_billing-name"' in html
    assert 'autocomplete="billing name"' in html


# --- How the fields render ----------------------------------------------------------------


def test_fields_render_with_label_autocomplete_and_help_text_wired() -> None:
    form = InformationForm()
    email = form["email"].as_field_group()
    assert '<label for="id_email">Email</label>' in email
    assert 'id="id_email_helptext">We send the order confirmation' in email
    assert 'aria-describedby="id_email_helptext"' in email
    assert 'autocomplete="email"' in email
    assert " required" in email
    assert "aria-invalid" not in email
    phone = form["phone"].as_field_group()
    assert 'type="tel"' in phone
    assert 'autocomplete="shipping tel"' in phone
    tokens = {
        "name": "shipping name",
        "address1": "shipping address-line1",
        "address2": "shipping address-line2",
        "city": "shipping address-level2",
        "state": "shipping address-level1",
        "zip": "shipping postal-code",
        "country": "shipping country",
    }
    for name, token in tokens.items():
        assert f'autocomplete="{token}"' in form[name].as_field_group(), name
    assert 'inputmode="numeric"' in form["zip"].as_field_group()


def test_errors_render_beside_the_field_and_are_announced() -> None:
    form = InformationForm(_post({**VALID, "email": "nope", "zip": "1"}))
    assert not form.is_valid()
    email = form["email"].as_field_group()
    assert 'class="checkout-field checkout-field--invalid"' in email
    assert 'aria-invalid="true"' in email
    assert 'aria-describedby="id_email_helptext id_email_error"' in email
    error = '<p class="checkout-field__error" id="id_email_error">Enter a valid email address.</p>'
    assert error in email
    assert 'value="nope"' in email  # what the shopper typed stays
    zip_html = form["zip"].as_field_group()
    assert 'aria-describedby="id_zip_error"' in zip_html
    assert "aria-invalid" not in form["city"].as_field_group()


def test_an_error_added_after_validation_is_announced_too() -> None:
    """Views add errors from the API after ``is_valid()``; the field must show them."""
    form = CodeForm(_post({"code": "nosuch"}, "promo"), prefix="promo", label="Promo code")
    assert form.is_valid()
    form.add_error("code", "This code has expired.")
    html = form["code"].as_field_group()
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_promo-code_error"' in html
    assert 'id="id_promo-code_error">This code has expired.</p>' in html


def test_one_forms_errors_do_not_leak_into_the_next() -> None:
    invalid = InformationForm(_post({**VALID, "zip": "1"}))
    assert "aria-invalid" in invalid["zip"].as_field_group()
    assert "aria-invalid" not in InformationForm()["zip"].as_field_group()
    assert "aria-invalid" not in InformationForm(_post(VALID))["zip"].as_field_group()


def test_what_the_shopper_typed_is_escaped() -> None:
    form = InformationForm(_post({**VALID, "name": '"><script>alert(1)</script>', "zip": "1"}))
    assert not form.is_valid()
    html = form["name"].as_field_group()
    assert "<script>" not in html
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_error_summary_links_each_error_to_its_field() -> None:
    form = InformationForm(_post({**VALID, "zip": "1", "name": ""}))
    assert not form.is_valid()
    html = render_to_string("checkout/includes/error_summary.html", {"form": form})
    assert "data-error-summary" in html
    assert '<a href="#id_zip">ZIP code: Enter a valid ZIP code, like 95014.</a>' in html
    assert '<a href="#id_name">Full name: This field is required.</a>' in html
    unbound = render_to_string("checkout/includes/error_summary.html", {"form": InformationForm()})
    assert not unbound.strip()


def test_fields_use_the_checkout_field_template_unless_given_their_own() -> None:
    form = InformationForm()
    assert form["email"].template_name == FIELD_TEMPLATE_NAME
    form.fields["email"].template_name = "django/forms/field.html"  # type: ignore[attr-defined]
    assert 'class="helptext"' in form["email"].as_field_group()


# --- Codes, shipping methods, variants ------------------------------------------------------


def test_code_form_normalizes_the_code_and_takes_its_label() -> None:
    form = CodeForm(_post({"code": " save 10 "}, "promo"), prefix="promo", label="Promo code")
    assert form.is_valid()
    assert form.cleaned_data["code"] == "SAVE10"
    html = form["code"].as_field_group()
    assert '<label for="id_promo-code">Promo code</label>' in html
    assert 'autocomplete="off"' in html
    assert str(CodeForm().fields["code"].label) == "Code"
    assert CodeForm(_post({"code": ""})).errors == {"code": ["This field is required."]}
    assert list(CodeForm(_post({"code": "x" * 65})).errors) == ["code"]


def test_shipping_method_must_be_one_of_the_offered_rates() -> None:
    assert ShippingMethodForm(_post({"service_code": "fedex_2day"}), rates=RATES).is_valid()
    unknown = ShippingMethodForm(_post({"service_code": "no_such_rate"}), rates=RATES)
    assert list(unknown.errors) == ["service_code"]
    missing = ShippingMethodForm(_post({}), rates=RATES)
    assert missing.errors == {"service_code": ["Choose a shipping method."]}


def test_each_rate_renders_its_radio_button_with_the_rate() -> None:
    form = ShippingMethodForm(rates=RATES, initial={"service_code": "fedex_2day"})
    options = form.rate_options()
    assert [rate for _radio, rate in options] == RATES
    assert [radio.id_for_label for radio, _rate in options] == [
        "id_service_code_0",
        "id_service_code_1",
    ]
    ground, fedex = (str(radio.tag()) for radio, _rate in options)
    assert 'value="ups_ground"' in ground
    assert "checked" not in ground
    assert 'value="fedex_2day"' in fedex
    assert "checked" in fedex
    refused = ShippingMethodForm(_post({}), rates=RATES)
    assert not refused.is_valid()
    assert refused["service_code"].aria_describedby == "id_service_code_error"
    assert 'aria-invalid="true"' in str(refused.rate_options()[0][0].tag())


def _choose(**data: Any) -> AddToCartForm:
    return AddToCartForm(_post({"quantity": "1", **data}), product=PHONE)


def test_add_to_cart_finds_the_variant_from_its_attributes() -> None:
    form = _choose(attr_color="Blue", attr_storage="128GB")
    assert form.is_valid(), form.errors
    assert form.variant is not None
    assert form.variant.id == 13
    assert list(form.fields) == ["attr_color", "attr_storage", "quantity"]
    assert str(form.fields["attr_color"].label) == "Color"


def test_add_to_cart_refuses_sold_out_and_missing_combinations() -> None:
    sold_out = _choose(attr_color="Black", attr_storage="256GB")
    assert sold_out.non_field_errors() == [
        "That option is sold out. Choose another color, storage or condition."
    ]
    missing = _choose(attr_color="Blue", attr_storage="256GB")
    assert missing.non_field_errors() == [
        "That combination is not available. Choose another option."
    ]
    too_many = _choose(attr_color="Blue", attr_storage="128GB", quantity="11")
    assert list(too_many.errors) == ["quantity"]
    assert 'inputmode="numeric"' in too_many["quantity"].as_field_group()
