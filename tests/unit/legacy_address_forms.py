"""The address forms as they were before their construction cost was cut (commit 2c13378).

A frozen copy, kept only so ``test_forms_cost.py`` can check that the faster forms in
``checkout/forms.py`` render byte-identical markup and give the same errors. Only the
classes are copied; the data (states, countries, patterns) is imported. Do not edit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.forms.widgets import Input
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from checkout.conf import app_settings
from checkout.forms import COUNTRY_NAMES, PHONE_RE, US_STATE_CODES, US_STATES, US_ZIP_RE


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
