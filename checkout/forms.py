"""The shopper's forms: add to cart, cart lines, the three checkout steps, promo, gift card,
the guest order lookup.

Forms validate and clean what the shopper typed; they never compute a price. Every field
has a visible label and the autocomplete token browsers and password managers expect.

Fields render through Django's form renderer with the field template
``checkout/forms/field.html`` (see ``CheckoutBoundField``), which a site overrides as any
of the checkout's templates, in its own ``templates/`` (``checkout.renderers``).
Django's ``BoundField`` adds ``required``, ``aria-invalid`` and
``aria-describedby`` (naming the help text ``<id>_helptext`` and the errors ``<id>_error``)
whenever a field renders, so errors a view adds after validation are wired too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Self, cast

from django import forms
from django.forms.boundfield import BoundField, BoundWidget
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from checkout.addresses import (
    ADDRESS_KEYS,
    AddressError,
    PhoneError,
    address_normalize,
    address_rules,
    billing_countries,
    country_is_known,
    phone_example,
    phone_normalize,
    shipping_countries,
)
from checkout.conf import app_settings
from checkout.renderers import CheckoutFormRenderer
from checkout.services.spectra import Product, ShippingRate, Variant

# The autocomplete token of each address field, after its section ("shipping", "billing").
ADDRESS_AUTOCOMPLETE = {
    "name": "name",
    "address1": "address-line1",
    "address2": "address-line2",
    "city": "address-level2",
    "state": "address-level1",
    "zip": "postal-code",
    "country": "country",
}

FIELD_TEMPLATE_NAME = "checkout/forms/field.html"
# Django's select markup, its options written in one template rather than one include
# each: a list of every country renders in a third of the time.
SELECT_TEMPLATE_NAME = "checkout/forms/select.html"


class CheckoutBoundField(BoundField):
    """A field of the checkout pages: rendered with ``FIELD_TEMPLATE_NAME``.

    The site-wide ``FORM_RENDERER.field_template_name`` is not used, because the pages'
    stylesheet relies on this template's markup. A field given its own ``template_name``
    keeps it.
    """

    @property
    def template_name(self) -> str:
        # django-stubs does not declare Field.template_name (Django 5.0+).
        own: str | None = self.field.template_name  # type: ignore[attr-defined]
        return own or FIELD_TEMPLATE_NAME


class CheckoutForm(forms.Form):
    """Base of the checkout's forms: fields render with the checkout's field template."""

    bound_field_class = CheckoutBoundField
    # Reads the site's templates/ first, so a site's checkout/forms/field.html is used.
    default_renderer = CheckoutFormRenderer()


class RegionField(forms.ChoiceField):
    """A region from the country's list, also taken by its name or in any case ("new
    york", " ny "), as autofill and API clients send it."""

    def to_python(self, value: Any) -> str:
        text = " ".join(str(super().to_python(value)).split())
        for key, label in cast(list[tuple[str, str]], self.choices):
            if text.casefold() in (str(key).casefold(), str(label).casefold()):
                return str(key)
        return text


class AddressForm(CheckoutForm):
    """A postal address laid out by its country's rules (``checkout.addresses``).

    The fields, their labels, which are required and the region choices follow the
    chosen country: the submitted one when bound, else the initial one. ``section`` is the
    autocomplete section (shipping / billing). When the submitted country differs from
    the one the fields were shown for (``shown_country``), ``country_changed`` is true and
    the view shows ``refreshed()`` instead of errors meant for another country's form.
    """

    section = "shipping"
    # The fields before the address's own, whose order follows the country; the error
    # summary lists errors in this order too.
    leading_fields: tuple[str, ...] = ("country",)

    name = forms.CharField(label=_("Full name"), max_length=120)
    address1 = forms.CharField(label=_("Address"), max_length=200)
    address2 = forms.CharField(
        label=_("Apartment, suite, etc. (optional)"), max_length=200, required=False
    )
    city = forms.CharField(label=_("City"), max_length=100)
    state = forms.CharField(label=_("State"), max_length=64)
    zip = forms.CharField(label=_("ZIP code"), max_length=12)
    country = forms.ChoiceField(label=_("Country"))
    shown_country = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        country = cast(forms.ChoiceField, self.fields["country"])
        # A callable: the list is built (from a per-language cache) only when the field
        # is validated or rendered, not for every form.
        country.choices = self.country_choices
        country.widget.attrs["data-address-country"] = ""
        country.widget.template_name = SELECT_TEMPLATE_NAME
        submitted = str(self.data.get(self.add_prefix("country")) or "").upper()
        initial = str(self.initial.get("country") or "").upper()
        shipping = app_settings.SHIPPING_COUNTRIES
        self.country_code = next(
            (c for c in (submitted, initial, *shipping) if self.country_allowed(c)), ""
        )
        country.initial = self.country_code
        # What the page shows is this country's fields, whatever initial data said.
        self.initial = {**self.initial, "shown_country": self.country_code}
        self.rules = address_rules(self.country_code)
        self._layout_fields()
        self.order_fields([*self.leading_fields, *self.rules.fields])

    def country_choices(self) -> list[tuple[str, str]]:
        """Return the countries this address may be in, named and sorted."""
        return shipping_countries()

    def country_allowed(self, code: str) -> bool:
        """Return whether this address may be in the country ``code``."""
        return bool(code) and code in app_settings.SHIPPING_COUNTRIES

    def _layout_fields(self) -> None:
        rules = self.rules
        for name in ("city", "state", "zip"):
            if name not in rules.fields:
                del self.fields[name]
                continue
            self.fields[name].label = rules.label(name)
        if "state" in self.fields and rules.state_choices:
            self.fields["state"] = RegionField(
                label=rules.label("state"),
                choices=[("", gettext("Select")), *rules.state_choices],
            )
            self.fields["state"].widget.template_name = SELECT_TEMPLATE_NAME
        for name in ("name", "address1", "city", "state", "zip"):
            if name in self.fields:
                self.fields[name].required = name in rules.required
        for name, token in ADDRESS_AUTOCOMPLETE.items():
            if name in self.fields:
                self.fields[name].widget.attrs["autocomplete"] = f"{self.section} {token}"
        if "zip" in self.fields:
            numeric = all(re.fullmatch(r"[\d -]+", e) for e in rules.zip_examples)
            self.fields["zip"].widget.attrs.update(
                {"inputmode": "numeric" if numeric else "text", "spellcheck": "false"}
            )
            if not numeric:
                self.fields["zip"].widget.attrs["autocapitalize"] = "characters"

    @property
    def address_fields(self) -> list[list[BoundField]]:
        """Return the address's bound fields (the country aside), line by line as the
        country writes them, for the template."""
        lines = [[self[n] for n in line if n in self.fields] for line in self.rules.lines]
        return [line for line in lines if line]

    @property
    def country_changed(self) -> bool:
        """Return whether a bound form's country is not the one its fields were shown for."""
        shown = str(self.data.get(self.add_prefix("shown_country")) or "").upper()
        return self.is_bound and bool(shown) and shown != self.country_code

    def refreshed(self) -> Self:
        """Return an unbound form for the newly chosen country, keeping what was typed."""
        names = [n for n in (*self.base_fields, "phone", "email") if n != "shown_country"]
        initial = {
            name: self.data.get(self.add_prefix(name))
            for name in names
            if self.data.get(self.add_prefix(name))
        }
        initial["country"] = self.country_code
        return type(self)(prefix=self.prefix, initial=initial)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            normalized = address_normalize({**data, "country": self.country_code})
        except AddressError as err:
            for name, message in err.errors.items():
                if name not in self.errors:  # the field's own error says it already
                    self.add_error(name if name in self.fields else None, message)
        else:
            data.update(normalized)
        return data

    def address(self) -> dict[str, str]:
        """Return the cleaned address in the API's shape."""
        data = self.cleaned_data
        return {key: str(data.get(key) or "").strip() for key in ADDRESS_KEYS}


class InformationForm(AddressForm):
    """Step 1: contact details and the shipping address."""

    email = forms.EmailField(
        label=_("Email"),
        help_text=_("We send the order confirmation and shipping updates here."),
        widget=forms.EmailInput(
            attrs={"autocomplete": "email", "spellcheck": "false", "autocapitalize": "off"}
        ),
    )
    # The Spectra API requires billing.phone on POST /orders (the sandbox enforces it),
    # so asking for it here beats an order refused at the last step.
    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        help_text=_("Only used if the carrier needs to reach you about the delivery."),
        widget=forms.TextInput(
            attrs={"type": "tel", "autocomplete": "shipping tel", "inputmode": "tel"}
        ),
    )

    leading_fields = ("email", "phone", "country")

    def clean_phone(self) -> str:
        """Return the phone in E.164, read as a number of the address's country."""
        phone = str(self.cleaned_data.get("phone") or "").strip()
        if not phone:
            return phone
        try:
            return phone_normalize(phone=phone, region=self.country_code)
        except PhoneError:
            raise forms.ValidationError(
                gettext(
                    "Enter a valid phone number, like %(example)s. Start a number from "
                    "another country with + and its country code."
                )
                % {"example": phone_example(region=self.country_code)}
            ) from None


class BillingForm(AddressForm):
    """The billing address (only validated when it differs from the shipping one): the
    cardholder's, so in any country."""

    section = "billing"

    def country_choices(self) -> list[tuple[str, str]]:
        return billing_countries()

    def country_allowed(self, code: str) -> bool:
        return country_is_known(code)


class ShippingMethodForm(CheckoutForm):
    """Step 2: one of the rates the API offered for this cart and address."""

    service_code = forms.ChoiceField(
        label=_("Shipping method"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a shipping method.")},
    )

    def __init__(self, *args: Any, rates: Sequence[ShippingRate], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rates = list(rates)
        field = cast(forms.ChoiceField, self.fields["service_code"])
        field.choices = [(rate.service_code, rate.service) for rate in self.rates]

    def rate_options(self) -> list[tuple[BoundWidget, ShippingRate]]:
        """Return each rate's radio button with the rate, for a page that shows its details."""
        return list(zip(self["service_code"], self.rates, strict=True))


class CodeForm(CheckoutForm):
    """A promo or gift card code."""

    code = forms.CharField(
        label=_("Code"),
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args: Any, label: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if label:
            self.fields["code"].label = label

    def clean_code(self) -> str:
        return str(self.cleaned_data["code"]).strip().upper().replace(" ", "")


class CartAddForm(forms.Form):
    """What a merchant's product page posts to ``checkout:cart-add``: a Spectra
    ``variant_id`` or a ``sku``, a ``quantity`` (1 when left out) and an optional ``next``."""

    variant_id = forms.IntegerField(label=_("Variant"), min_value=1, required=False)
    sku = forms.CharField(label=_("SKU"), max_length=100, required=False)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=99, required=False)
    next = forms.CharField(max_length=2000, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("variant_id") is None and not data.get("sku"):
            raise forms.ValidationError(gettext("Choose a product to add."), code="no_product")
        if data.get("variant_id") is not None and data.get("sku"):
            raise forms.ValidationError(
                gettext("Name the product by its variant or by its SKU, not both."),
                code="two_products",
            )
        if data.get("quantity") is None and "quantity" not in self.errors:
            data["quantity"] = 1
        return data


class OrderLookupForm(CheckoutForm):
    """A guest's order lookup: the email the order was placed with and its number."""

    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("The address you placed the order with."),
        widget=forms.EmailInput(
            attrs={"autocomplete": "email", "spellcheck": "false", "autocapitalize": "off"}
        ),
    )
    order_number = forms.CharField(
        label=_("Order number"),
        max_length=32,
        help_text=_("From your order confirmation, like ORD-20250101-0001."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def clean_order_number(self) -> str:
        return str(self.cleaned_data["order_number"]).strip().upper()


class CartLineForm(forms.Form):
    """A new quantity for one cart line (0 removes it)."""

    quantity = forms.IntegerField(label=_("Quantity"), min_value=0, max_value=99)


class AddToCartForm(CheckoutForm):
    """Pick a product's variant by its attributes (color, storage, condition, carrier)."""

    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=10, initial=1)

    def __init__(self, *args: Any, product: Product, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.product = product
        self.variant: Variant | None = None
        self.attribute_names = variant_attribute_names(product.variants)
        for attr in self.attribute_names:
            values: list[str] = []
            for variant in product.variants:
                value = str(variant.attributes.get(attr) or "")
                if value and value not in values:
                    values.append(value)
            self.fields[f"attr_{attr}"] = forms.ChoiceField(
                label=attr_display_name(attr),
                choices=[(v, v) for v in values],
                widget=forms.RadioSelect,
            )
        self.order_fields([*(f"attr_{a}" for a in self.attribute_names), "quantity"])
        self.fields["quantity"].widget.attrs.update({"inputmode": "numeric"})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = {a: data.get(f"attr_{a}") for a in self.attribute_names}
        if all(chosen.values()):
            self.variant = find_variant(self.product.variants, chosen)
            if self.variant is None:
                raise forms.ValidationError(
                    gettext("That combination is not available. Choose another option.")
                )
            if not self.variant.in_stock:
                raise forms.ValidationError(
                    gettext("That option is sold out. Choose another color, storage or condition.")
                )
        return data


def variant_attribute_names(variants: Sequence[Variant]) -> list[str]:
    """Return the attribute names that vary or matter, in a stable, friendly order."""
    preferred = ["color", "storage", "condition", "carrier"]
    names: list[str] = []
    for variant in variants:
        for key, value in variant.attributes.items():
            if value not in (None, "") and key not in names:
                names.append(key)
    return sorted(names, key=lambda n: (preferred.index(n) if n in preferred else 99, n))


def attr_display_name(name: str) -> str:
    labels = {
        "color": gettext("Color"),
        "storage": gettext("Storage"),
        "condition": gettext("Condition"),
        "carrier": gettext("Carrier"),
    }
    return labels.get(name, name.replace("_", " ").capitalize())


def find_variant(variants: Sequence[Variant], chosen: Mapping[str, Any]) -> Variant | None:
    """Return the variant whose attributes match ``chosen`` exactly, or None."""
    for variant in variants:
        if all(str(variant.attributes.get(k) or "") == str(v or "") for k, v in chosen.items()):
            return variant
    return None
