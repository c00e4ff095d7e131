"""The shopper's forms: add to cart, cart lines, the three checkout steps, promo, gift card,
the guest order lookup.

Forms validate and clean what the shopper typed; they never compute a price. Every field
has a visible label and the autocomplete token browsers and password managers expect.

Fields render through Django's form renderer with the field template
``checkout/forms/field.html`` (see ``CheckoutBoundField``), which a site overrides as any
form template. Django's ``BoundField`` adds ``required``, ``aria-invalid`` and
``aria-describedby`` (naming the help text ``<id>_helptext`` and the errors ``<id>_error``)
whenever a field renders, so errors a view adds after validation are wired too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from django import forms
from django.forms.boundfield import BoundField, BoundWidget
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from checkout.conf import app_settings
from checkout.services.spectra import Product, ShippingRate, Variant

US_STATES: tuple[tuple[str, str], ...] = (
    ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"),
    ("CA", "California"), ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"),
    ("DC", "District of Columbia"), ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"),
    ("ID", "Idaho"), ("IL", "Illinois"), ("IN", "Indiana"), ("IA", "Iowa"),
    ("KS", "Kansas"), ("KY", "Kentucky"), ("LA", "Louisiana"), ("ME", "Maine"),
    ("MD", "Maryland"), ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"),
    ("MS", "Mississippi"), ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"),
    ("NV", "Nevada"), ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"),
    ("NY", "New York"), ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"),
    ("OK", "Oklahoma"), ("OR", "Oregon"), ("PA", "Pennsylvania"), ("RI", "Rhode Island"),
    ("SC", "South Carolina"), ("SD", "South Dakota"), ("TN", "Tennessee"), ("TX", "Texas"),
    ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"), ("WA", "Washington"),
    ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"),
    ("AS", "American Samoa"), ("GU", "Guam"), ("MP", "Northern Mariana Islands"),
    ("PR", "Puerto Rico"), ("VI", "U.S. Virgin Islands"),
    ("AA", "Armed Forces Americas"), ("AE", "Armed Forces Europe"),
    ("AP", "Armed Forces Pacific"),
)  # fmt: skip
US_STATE_CODES = frozenset(code for code, _name in US_STATES)
US_ZIP_RE = re.compile(r"^\d{5}(-\d{4})?$")
PHONE_RE = re.compile(r"^\+?[\d\s().-]{7,20}$")

COUNTRY_NAMES = {
    "US": _("United States"),
    "CA": _("Canada"),
    "MX": _("Mexico"),
    "GB": _("United Kingdom"),
}

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


class AddressForm(CheckoutForm):
    """A postal address; ``section`` is the autocomplete section (shipping / billing)."""

    section = "shipping"
    # The order the pages show the fields in, so the error summary lists them that way.
    field_order = ["country", "name", "address1", "address2", "city", "state", "zip"]

    name = forms.CharField(label=_("Full name"), max_length=120)
    address1 = forms.CharField(label=_("Address"), max_length=200)
    address2 = forms.CharField(
        label=_("Apartment, suite, etc. (optional)"), max_length=200, required=False
    )
    city = forms.CharField(label=_("City"), max_length=100)
    state = forms.ChoiceField(label=_("State"))
    zip = forms.CharField(label=_("ZIP code"), max_length=10)
    country = forms.ChoiceField(label=_("Country"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = app_settings.ALLOWED_COUNTRIES
        countries = [(code, COUNTRY_NAMES.get(code, code)) for code in allowed]
        country = cast(forms.ChoiceField, self.fields["country"])
        country.choices = countries
        country.initial = countries[0][0] if countries else "US"
        if allowed == ("US",):
            state = cast(forms.ChoiceField, self.fields["state"])
            state.choices = [("", _("Select a state")), *US_STATES]
        else:
            # Other countries have their own regions: accept text, check US ones in clean().
            self.fields["state"] = forms.CharField(label=_("State / province"), max_length=64)
            self.fields["zip"].label = _("ZIP / postal code")
        for name, token in ADDRESS_AUTOCOMPLETE.items():
            self.fields[name].widget.attrs["autocomplete"] = f"{self.section} {token}"
        self.fields["zip"].widget.attrs.update({"inputmode": "numeric", "spellcheck": "false"})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        country = data.get("country") or ""
        if country == "US":
            state = str(data.get("state") or "").strip().upper()
            if "state" in data and state not in US_STATE_CODES:
                self.add_error("state", gettext("Choose a US state."))
            else:
                data["state"] = state
            zip_code = str(data.get("zip") or "").strip()
            if "zip" in data and not US_ZIP_RE.match(zip_code):
                self.add_error("zip", gettext("Enter a 5-digit ZIP code, like 10001."))
            else:
                data["zip"] = zip_code
        return data

    def address(self) -> dict[str, str]:
        """Return the cleaned address in the API's shape."""
        data = self.cleaned_data
        return {
            key: str(data.get(key) or "").strip()
            for key in ("name", "address1", "address2", "city", "state", "zip", "country")
        }


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

    field_order = ["email", "phone", *AddressForm.field_order]

    def clean_phone(self) -> str:
        phone = str(self.cleaned_data.get("phone") or "").strip()
        if phone and not PHONE_RE.match(phone):
            raise forms.ValidationError(gettext("Enter a phone number, like 212-555-0100."))
        return phone


class BillingForm(AddressForm):
    """The billing address (only validated when it differs from the shipping one)."""

    section = "billing"


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
