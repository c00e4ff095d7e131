"""The shopper's forms: add to cart, cart lines, the three checkout steps, promo, gift card.

Forms validate and clean what the shopper typed; they never compute a price. Every
field has a visible label, the autocomplete token browsers and password managers
expect, and error wiring (``aria-describedby``/``aria-invalid``): added in ``__init__``,
and for the address forms once their errors are known (see ``AddressForm``).
"""

from __future__ import annotations

import copy
import functools
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from django import forms
from django.core.signals import setting_changed
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
            invalid = form.is_bound and bool(form.errors.get(name))
            _wire_attrs(field.widget.attrs, field, bound.auto_id, invalid=invalid)


def _wire_attrs(attrs: dict[str, Any], field: forms.Field, auto_id: str, *, invalid: bool) -> None:
    """Add one field's accessibility attributes to its widget's ``attrs``, in place."""
    described = [f"{auto_id}_help"] if field.help_text else []
    if invalid:
        attrs["aria-invalid"] = "true"
        described.append(f"{auto_id}_error")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if field.required and not isinstance(field.widget, forms.CheckboxInput):
        attrs.setdefault("required", True)


def _country_choices() -> list[tuple[str, str]]:
    return [(code, str(COUNTRY_NAMES.get(code, code))) for code in app_settings.ALLOWED_COUNTRIES]


# --- Cheap copies ------------------------------------------------------------------------
# Every form deep-copies its class's fields (BaseForm.__init__). Django's Field and
# Widget ``__deepcopy__`` start with ``copy.copy``, whose ``__reduce_ex__``/``copyreg``
# round trip (~2 µs an object), with copy.deepcopy's bookkeeping around each field and
# widget, made copying the nine fields of an InformationForm cost ~60 µs. These make the
# same copies through ``__dict__``: ~15-20 µs.

_T = TypeVar("_T")


def _clone(obj: _T) -> _T:
    """Return what ``copy.copy(obj)`` returns for a plain instance, without its round trip."""
    clone = object.__new__(type(obj))
    clone.__dict__ = obj.__dict__.copy()
    return clone


def _copy_widget(widget: forms.Widget, memo: dict[int, Any]) -> Any:
    """``Widget.__deepcopy__``: a copy with its own ``attrs``."""
    copied = _clone(widget)
    copied.attrs = widget.attrs.copy()
    memo[id(widget)] = copied
    return copied


class _CheapCopyMixin:
    """A field copied as ``Field.__deepcopy__`` does, with ``_clone`` for ``copy.copy``."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        field: forms.Field = self  # type: ignore[assignment]
        copied = _clone(field)
        memo[id(field)] = copied
        widget = memo.get(id(field.widget))  # what copy.deepcopy(field.widget, memo) does
        copied.widget = field.widget.__deepcopy__(memo) if widget is None else widget
        copied.error_messages = field.error_messages.copy()
        copied.validators = field.validators[:]
        return copied


class _CharField(_CheapCopyMixin, forms.CharField):
    """A CharField cheap to copy for each form."""


class _EmailField(_CheapCopyMixin, forms.EmailField):
    """An EmailField cheap to copy for each form."""


class _ChoiceField(_CheapCopyMixin, forms.ChoiceField):
    """A ChoiceField cheap to copy for each form (the address forms give it its choices)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        copied = super().__deepcopy__(memo)
        choices = self._choices  # type: ignore[attr-defined]
        # As ChoiceField.__deepcopy__; the address forms' configured fields hold none.
        empty = type(choices) is list and not choices
        copied._choices = [] if empty else copy.deepcopy(choices, memo)
        return copied


# --- Fast widgets ---------------------------------------------------------------------
# Django renders each widget through its template engine (select.html, then one
# option.html per option, each with attrs.html): the 60-option state select alone cost
# about 2 ms a page. These widgets produce the same markup with string formatting, and
# the select renders its options once per process, language and choice list.
# ``html.escape(str(x))`` is what django.utils.html.escape returns, minus its lazy-string
# wrapper and SafeString. Attribute values (ids, autocomplete tokens, ...) repeat from
# form to form: their escaped text is memoized. Together about 1.5 µs a field.

_escape_attr = functools.lru_cache(maxsize=1024)(html.escape)


def _attrs_html(attrs: Mapping[str, Any]) -> str:
    """Return attributes as Django's ``attrs.html`` renders them."""
    parts = []
    for name, value in attrs.items():
        if value is True:
            parts.append(f" {name}")
        elif value is not False:
            parts.append(f' {name}="{_escape_attr(str(value))}"')
    return "".join(parts)


class FastInputMixin:
    """Render an ``<input>`` as ``django/forms/widgets/input.html`` does, without templates."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget: Input = self  # type: ignore[assignment]
        if not widget.template_name.startswith("django/forms/widgets/"):  # a custom template
            return Input.render(widget, name, value, attrs, renderer)
        formatted = widget.format_value(value)
        value_html = "" if formatted is None else f' value="{html.escape(str(formatted))}"'
        final = widget.build_attrs(widget.attrs, attrs)
        return mark_safe(  # noqa: S308 - every part is escaped
            f'<input type="{html.escape(str(widget.input_type))}" name="{html.escape(name)}"'
            f"{value_html}{_attrs_html(final)}>"
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return _copy_widget(self, memo)  # type: ignore[arg-type]


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
        # The choices themselves make the key (labels compare as the active language
        # renders them, lazy or not): building a tuple of str() pairs first cost ~10 µs
        # a render for the 60 state options. Unhashable choices take the str() pairs.
        language = get_language()
        try:
            key: tuple[Any, ...] = (language, tuple(self.choices))
            found = self._options.get(key)
        except TypeError:
            key = (language, tuple((v, str(label)) for v, label in self.choices))
            found = self._options.get(key)
        if found is None:
            if any(isinstance(label, (list, tuple)) for _v, label in self.choices):
                return None
            parts = []
            marks: dict[str, tuple[str, str]] = {}
            for value, label in self.choices:
                text = "" if value is None else str(value)
                plain = f'<option value="{escape(text)}">'
                marks[text] = (plain, f'<option value="{escape(text)}" selected>')
                parts.append(f"\n  {plain}{escape(str(label))}</option>")
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
        html_ = f'<select name="{html.escape(name)}"{_attrs_html(final)}>{options}\n</select>'
        return mark_safe(html_)  # noqa: S308 - name, attributes and options are escaped

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        copied = _copy_widget(self, memo)
        choices = self.choices
        if type(choices) is list and not choices:  # nothing for the setter to normalize
            copied._choices = []
        else:
            copied.choices = copy.copy(choices)  # as ChoiceWidget.__deepcopy__
        return copied


# --- Address forms ---------------------------------------------------------------------
# Building a bound InformationForm cost ~440 µs of CPU, validating it included: the
# ``choices`` setters ran normalize_choices over the 60 state options twice (field and
# widget), ~200 µs; copying the fields ~60 µs; the same widget attributes set on every
# form; wire_accessibility() three times (~10 µs each), the first of which ran the whole
# validation inside __init__ through form.errors. Now the configured fields are built
# once per form class, allowed countries and language (_AddressSetup: the country names
# and the "Select a state" placeholder are translated then), each form copies them
# (~45 µs to build), and invalid fields are wired once their errors are known
# (full_clean).


@dataclass(frozen=True)
class _AttrsLayout:
    """Where a field's accessibility attributes sit among its widget's attributes."""

    before: tuple[str, ...]  # the widget's own attributes, before them
    after: tuple[str, ...]  # attrs_after_accessibility, after them
    unbound: tuple[str, ...]  # every attribute an unbound form has, in order


class _FieldPrototypes(dict[str, forms.Field]):
    """An _AddressSetup's configured fields, which BaseForm.__init__ deep-copies per form.

    Copies each field directly, without copy.deepcopy's dispatch and memo bookkeeping
    around every key and value of the dict. The copy is a plain dict.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, forms.Field]:
        return {name: field.__deepcopy__(memo) for name, field in self.items()}


@dataclass(frozen=True)
class _AddressSetup:
    """An address form class's fields, configured for one set of countries and a language."""

    fields: _FieldPrototypes  # wired as for an unbound form; choice lists left empty
    choices: dict[str, tuple[list[Any], list[Any]]]  # name -> (field's, widget's) normalized
    layouts: dict[str, _AttrsLayout]
    help_fields: tuple[str, ...]  # aria-describedby names the help text, whose id is per form


_ADDRESS_SETUPS: dict[tuple[Any, ...], _AddressSetup] = {}


def _forget_address_setups(**kwargs: Any) -> None:
    # Tests change settings (override_settings): besides the countries and language in
    # the key, translations depend on LANGUAGE_CODE, USE_I18N, LOCALE_PATHS, ...
    _ADDRESS_SETUPS.clear()


setting_changed.connect(_forget_address_setups, dispatch_uid="checkout.forms.address_setups")


class AddressForm(AccessibleFormMixin, forms.Form):
    """A postal address; ``section`` is the autocomplete section (shipping / billing).

    Subclasses configure their fields in the ``configure_fields`` classmethod (run once
    per class, countries and language), not per form in ``__init__``.
    """

    section = "shipping"
    # Widget attributes placed after the accessibility ones (the markup's attribute order).
    attrs_after_accessibility: ClassVar[dict[str, dict[str, Any]]] = {}

    name = _CharField(label=_("Full name"), max_length=120, widget=FastTextInput)
    address1 = _CharField(label=_("Address"), max_length=200, widget=FastTextInput)
    address2 = _CharField(
        label=_("Apartment, suite, etc. (optional)"),
        max_length=200,
        required=False,
        widget=FastTextInput,
    )
    city = _CharField(label=_("City"), max_length=100, widget=FastTextInput)
    state = _ChoiceField(label=_("State"), widget=CachedSelect)
    zip = _CharField(label=_("ZIP code"), max_length=10, widget=FastTextInput)
    country = _ChoiceField(label=_("Country"), widget=CachedSelect)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        setup = self._setup()
        # BaseForm.__init__ deep-copies ``self.base_fields`` into ``self.fields``: point it
        # at the configured fields so that copy is the only per-form work; the class's
        # ``base_fields`` shows through again right after.
        self.__dict__["base_fields"] = setup.fields
        try:
            super().__init__(*args, **kwargs)
        finally:
            del self.__dict__["base_fields"]
        self._address_setup = setup
        for name, (field_choices, widget_choices) in setup.choices.items():
            # Normalized once for the setup: each form gets its own lists of the same
            # (immutable) tuples, without normalize_choices again in both setters.
            field: Any = self.fields[name]
            field._choices = list(field_choices)
            field.widget._choices = list(widget_choices)
        for name in setup.help_fields:
            self.fields[name].widget.attrs["aria-describedby"] = f"{self[name].auto_id}_help"

    @classmethod
    def configure_fields(cls, fields: dict[str, forms.Field]) -> None:
        """Set choices, labels and widget attributes on a copy of the class's fields.

        Runs once per class, allowed countries and language (``_setup``), not per form.
        """
        countries = _country_choices()
        country: Any = fields["country"]
        country.choices = countries
        country.initial = countries[0][0] if countries else "US"
        if app_settings.ALLOWED_COUNTRIES == ("US",):
            state: Any = fields["state"]
            state.choices = [("", gettext("Select a state")), *US_STATES]
        else:
            # Other countries have their own regions: accept text, check US ones in clean().
            fields["state"] = _CharField(
                label=_("State / province"), max_length=64, widget=FastTextInput
            )
            fields["zip"].label = _("ZIP / postal code")
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
            fields[field_name].widget.attrs["autocomplete"] = f"{cls.section} {token}"
        fields["zip"].widget.attrs.update({"inputmode": "numeric", "spellcheck": "false"})

    @classmethod
    def _setup(cls) -> _AddressSetup:
        key = (cls, app_settings.ALLOWED_COUNTRIES, get_language())
        setup = _ADDRESS_SETUPS.get(key)
        if setup is None:
            setup = cls._build_setup()
            if len(_ADDRESS_SETUPS) > 64:  # languages activated per request must not grow it
                _ADDRESS_SETUPS.clear()
            _ADDRESS_SETUPS[key] = setup
        return setup

    @classmethod
    def _build_setup(cls) -> _AddressSetup:
        fields = _FieldPrototypes(copy.deepcopy(cls.base_fields))
        cls.configure_fields(fields)
        choices: dict[str, tuple[list[Any], list[Any]]] = {}
        layouts: dict[str, _AttrsLayout] = {}
        for name, field in fields.items():
            if isinstance(field, forms.ChoiceField):
                widget: Any = field.widget
                choices[name] = (field._choices, widget._choices)  # type: ignore[attr-defined]
                field._choices = widget._choices = []  # type: ignore[attr-defined]
            attrs = field.widget.attrs
            before = tuple(attrs)
            _wire_attrs(attrs, field, f"id_{name}", invalid=False)  # the id is set per form
            after = cls.attrs_after_accessibility.get(name, {})
            attrs.update(after)
            layouts[name] = _AttrsLayout(
                before=before,
                after=tuple(key for key in after if key not in before),
                unbound=tuple(attrs),
            )
        help_fields = tuple(name for name, field in fields.items() if field.help_text)
        return _AddressSetup(fields, choices, layouts, help_fields)

    def full_clean(self) -> None:
        super().full_clean()
        # Mark the invalid fields now that the errors are known, once (not in __init__).
        for name in self.errors:
            field = self.fields.get(name)
            if field is not None:
                self._wire_invalid(name, field)

    def _wire_invalid(self, name: str, field: forms.Field) -> None:
        attrs = field.widget.attrs
        auto_id = self[name].auto_id
        layout = self._address_setup.layouts.get(name)
        if layout is None or tuple(attrs) != layout.unbound:
            # Changed since __init__ (another widget, other attributes): as the mixin does.
            _wire_attrs(attrs, field, auto_id, invalid=True)
            return
        # aria-invalid goes before aria-describedby and required, where the markup has
        # always had it: rebuild the attributes around the accessibility ones.
        wired = {key: attrs[key] for key in layout.before}
        _wire_attrs(wired, field, auto_id, invalid=True)
        wired.update({key: attrs[key] for key in layout.after})
        attrs.clear()
        attrs.update(wired)

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

    email = _EmailField(
        label=_("Email"),
        widget=FastEmailInput,
        help_text=_("We send the order confirmation and shipping updates here."),
    )
    # The Spectra API requires billing.phone on POST /orders (the sandbox enforces it),
    # so asking for it here beats an order refused at the last step.
    phone = _CharField(
        label=_("Phone"),
        max_length=32,
        widget=FastTextInput,
        help_text=_("Only used if the carrier needs to reach you about the delivery."),
    )

    field_order = ["email", "name", "address1", "address2", "city", "state", "zip"]
    field_order += ["country", "phone"]
    attrs_after_accessibility = {
        "email": {"autocomplete": "email", "spellcheck": "false", "autocapitalize": "off"}
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if list(self.fields) != self.field_order:  # a field_order argument: ours wins
            self.order_fields(self.field_order)

    @classmethod
    def configure_fields(cls, fields: dict[str, forms.Field]) -> None:
        super().configure_fields(fields)
        fields["phone"].widget = FastTextInput(
            attrs={"autocomplete": "shipping tel", "type": "tel", "inputmode": "tel"}
        )

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
