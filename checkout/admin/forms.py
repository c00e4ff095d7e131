"""Forms for the staff actions that need input: tracking for shipping, the email to resend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from checkout.models import EmailNotification, Order

CARRIER_CHOICES = [("UPS", "UPS"), ("FedEx", "FedEx"), ("USPS", "USPS"), ("DHL", "DHL")]


def order_carrier(order: Order) -> str:
    """The carrier the order ships with: its tracking's, else the chosen rate's."""
    method = order.shipping_method or {}
    return str(order.shipping_carrier or method.get("carrier") or "").strip()


class ShipForm(forms.Form):
    """Tracking for one order; rendered once per selected order (with a prefix).

    The carrier starts as the order's own (the one the shopper chose and paid for).
    """

    tracking_number = forms.CharField(label=_("Tracking number"), max_length=128)
    carrier = forms.ChoiceField(label=_("Carrier"), choices=CARRIER_CHOICES)

    def __init__(self, *args: Any, order: Order | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tracking_number"].widget.attrs.update({"autocomplete": "off", "size": 28})
        carrier = order_carrier(order) if order is not None else ""
        if carrier:
            field = cast(forms.ChoiceField, self.fields["carrier"])
            known = {value.lower(): value for value, _label in CARRIER_CHOICES}
            if carrier.lower() not in known:
                # A carrier the list does not name (a merchant's own): offer it as it is.
                field.choices = [(carrier, carrier), *CARRIER_CHOICES]
            field.initial = known.get(carrier.lower(), carrier)


class ResendEmailForm(forms.Form):
    """Which email to send again (logged as a deliberate resend).

    ``kinds``: the kinds on offer, those the order's history produced
    (``staff.email_kinds_produced``); every kind when not given.
    """

    kind = forms.ChoiceField(label=_("Email"), choices=EmailNotification.Kind.choices)

    def __init__(self, *args: Any, kinds: Sequence[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kinds is not None:
            field = cast(forms.ChoiceField, self.fields["kind"])
            field.choices = [(k, name) for k, name in EmailNotification.Kind.choices if k in kinds]
            if not kinds:
                field.help_text = _("No email has been sent yet, so none can be resent.")
