"""The shopper's forms: add to cart, cart lines, the three checkout steps, promo, gift card.

Forms validate and clean what the shopper typed; they never compute a price. Every
field has a visible label, the autocomplete token browsers and password managers
expect, and error wiring (``aria-describedby``/``aria-invalid``) added in ``__init__``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.forms.widgets import Input
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext
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


class AccessibleFormMixin:
    """Wire each field's help and error text to its input for screen readers."""

    def wire_accessibility(self) -> None:
        form: forms.BaseForm = self  # type: ignore[assignment]
        for name, field in form.fields.items():
            bound = form[name]
            attrs = field.widget.attrs
            described = [f"{bound.auto_id}_help"] if field.help_text else []
            if form.is_bound and form.errors.get(name):
                attrs["aria-invalid"] = "true"
                described.append(f"{bound.auto_id}_error")
            if described:
                attrs["aria-describedby"] = " ".join(described)
            if field.required and not isinstance(field.widget, forms.CheckboxInput):
                attrs.setdefault("required", True)


def _country_choices() -> list[tuple[str, str]]:
    return [(code, str(COUNTRY_NAMES.get(code, code))) for code in app_settings.ALLOWED_COUNTRIES]


# --- Fast widgets ---------------------------------------------------------------------
# Django renders each widget through its template engine (select.html, then one
# option.html per option, each with attrs.html): the 57-option state select alone cost
# about 2 ms a page. These widgets produce the same markup with string formatting, and
# the select renders its options once per process, language and choice list.


def _attrs_html(attrs: Mapping[str, Any]) -> str:
    """Return attributes as Django's ``attrs.html`` renders them."""
    return "".join(
        f" {name}" if value is True else f' {name}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


class FastInputMixin:
    """Render an ``<input>`` as ``django/forms/widgets/input.html`` does, without templates."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget: Input = self  # type: ignore[assignment]
        if not widget.template_name.startswith("django/forms/widgets/"):  # a custom template
            return Input.render(widget, name, value, attrs, renderer)
        formatted = widget.format_value(value)
        value_html = "" if formatted is None else f' value="{escape(str(formatted))}"'
        final = widget.build_attrs(widget.attrs, attrs)
        return mark_safe(  # noqa: S308 - every part is escaped
            f'<input type="{escape(widget.input_type)}" name="{escape(name)}"'
            f"{value_html}{_attrs_html(final)}>"
        )


class FastTextInput(FastInputMixin, forms.TextInput):
    """A text input rendered without the template engine."""


class FastEmailInput(FastInputMixin, forms.EmailInput):
    """An email input rendered without the template engine."""


class CachedSelect(forms.Select):
    """A ``<select>`` whose options are rendered once per process, language and choices.

    The markup is Django's own; the selected option is marked on the cached string.
    Grouped choices fall back to the template rendering.
    """

    _options: dict[tuple[Any, ...], tuple[str, dict[str, tuple[str, str]]]] = {}

    def _option_html(self) -> tuple[str, dict[str, tuple[str, str]]] | None:
        pairs = tuple((v, str(label)) for v, label in self.choices)
        key = (get_language(), pairs)
        found = self._options.get(key)
        if found is None:
            if any(isinstance(label, (list, tuple)) for _v, label in self.choices):
                return None
            parts = []
            marks: dict[str, tuple[str, str]] = {}
            for value, label in pairs:
                text = "" if value is None else str(value)
                plain = f'<option value="{escape(text)}">'
                marks[text] = (plain, f'<option value="{escape(text)}" selected>')
                parts.append(f"\n  {plain}{escape(label)}</option>")
            found = ("".join(parts), marks)
            if len(self._options) > 256:  # choices built per request must not grow it
                self._options.clear()
            self._options[key] = found
        return found

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        cached = None if self.allow_multiple_selected else self._option_html()
        if cached is None:
            return super().render(name, value, attrs, renderer)
        options, marks = cached
        for selected in self.format_value(value):
            if selected in marks:
                plain, chosen = marks[selected]
                options = options.replace(plain, chosen, 1)
                break  # a single select marks one option, as Django does
        final = self.build_attrs(self.attrs, attrs)
        html = f'<select name="{escape(name)}"{_attrs_html(final)}>{options}\n</select>'
        return mark_safe(html)  # noqa: S308 - name, attributes and options are escaped


class AddressForm(AccessibleFormMixin, forms.Form):
    """A postal address; ``section`` is the autocomplete section (shipping / billing)."""

    section = "shipping"

    name = forms.CharField(label=_("Full name"), max_length=120, widget=FastTextInput)
    address1 = forms.CharField(label=_("Address"), max_length=200, widget=FastTextInput)
    address2 = forms.CharField(
        label=_("Apartment, suite, etc. (optional)"),
        max_length=200,
        required=False,
        widget=FastTextInput,
    )
    city = forms.CharField(label=_("City"), max_length=100, widget=FastTextInput)
    state = forms.ChoiceField(label=_("State"), widget=CachedSelect)
    zip = forms.CharField(label=_("ZIP code"), max_length=10, widget=FastTextInput)
    country = forms.ChoiceField(label=_("Country"), widget=CachedSelect)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        countries = _country_choices()
        self.fields["country"].choices = countries  # type: ignore[attr-defined]
        self.fields["country"].initial = countries[0][0] if countries else "US"
        if app_settings.ALLOWED_COUNTRIES == ("US",):
            self.fields["state"].choices = [("", gettext("Select a state")), *US_STATES]  # type: ignore[attr-defined]
        else:
            # Other countries have their own regions: accept text, check US ones in clean().
            self.fields["state"] = forms.CharField(
                label=_("State / province"), max_length=64, widget=FastTextInput
            )
            self.fields["zip"].label = _("ZIP / postal code")
        tokens = {
            "name": "name",
            "address1": "address-line1",
            "address2": "address-line2",
            "city": "address-level2",
            "state": "address-level1",
            "zip": "postal-code",
            "country": "country",
        }
        for field_name, token in tokens.items():
            self.fields[field_name].widget.attrs["autocomplete"] = f"{self.section} {token}"
        self.fields["zip"].widget.attrs.update({"inputmode": "numeric", "spellcheck": "false"})
        self.wire_accessibility()

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
        self.wire_accessibility()
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
        widget=FastEmailInput,
        help_text=_("We send the order confirmation and shipping updates here."),
    )
    # The Spectra API requires billing.phone on POST /orders (the sandbox enforces it),
    # so asking for it here beats an order refused at the last step.
    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        widget=FastTextInput,
        help_text=_("Only used if the carrier needs to reach you about the delivery."),
    )

    field_order = ["email", "name", "address1", "address2", "city", "state", "zip"]
    field_order += ["country", "phone"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update(
            {"autocomplete": "email", "spellcheck": "false", "autocapitalize": "off"}
        )
        self.fields["phone"].widget = FastTextInput(
            attrs={"autocomplete": "shipping tel", "type": "tel", "inputmode": "tel"}
        )
        self.order_fields(self.field_order)
        self.wire_accessibility()

    def clean_phone(self) -> str:
        phone = str(self.cleaned_data.get("phone") or "").strip()
        if phone and not PHONE_RE.match(phone):
            raise forms.ValidationError(gettext("Enter a phone number, like 212-555-0100."))
        return phone


class BillingForm(AddressForm):
    """The billing address (only validated when it differs from the shipping one)."""

    section = "billing"


class ShippingMethodForm(AccessibleFormMixin, forms.Form):
    """Step 2: one of the rates the API offered for this cart and address."""

    service_code = forms.ChoiceField(label=_("Shipping method"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, rates: Sequence[ShippingRate], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rates = list(rates)
        self.fields["service_code"].choices = [(r.service_code, r.service) for r in self.rates]  # type: ignore[attr-defined]
        self.fields["service_code"].error_messages["required"] = gettext(
            "Choose a shipping method."
        )
        self.wire_accessibility()


class CodeForm(AccessibleFormMixin, forms.Form):
    """A promo or gift card code."""

    code = forms.CharField(max_length=64, widget=FastTextInput)

    def __init__(self, *args: Any, label: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].label = label or gettext("Code")
        self.fields["code"].widget.attrs.update(
            {"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        )
        self.wire_accessibility()

    def clean_code(self) -> str:
        return str(self.cleaned_data["code"]).strip().upper().replace(" ", "")


class CartLineForm(forms.Form):
    """A new quantity for one cart line (0 removes it)."""

    quantity = forms.IntegerField(label=_("Quantity"), min_value=0, max_value=99)


class AddToCartForm(AccessibleFormMixin, forms.Form):
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
        self.wire_accessibility()

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
        self.wire_accessibility()
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
