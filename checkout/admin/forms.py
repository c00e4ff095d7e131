"""Forms for the staff actions that need input: tracking for shipping, the email to resend."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from checkout.models import EmailNotification

CARRIER_CHOICES = [("UPS", "UPS"), ("FedEx", "FedEx"), ("USPS", "USPS"), ("DHL", "DHL")]


class ShipForm(forms.Form):
    """Tracking for one order; rendered once per selected order (with a prefix)."""

    tracking_number = forms.CharField(label=_("Tracking number"), max_length=128)
    carrier = forms.ChoiceField(label=_("Carrier"), choices=CARRIER_CHOICES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tracking_number"].widget.attrs.update({"autocomplete": "off", "size": 28})


class ResendEmailForm(forms.Form):
    """Which email to send again (logged as a deliberate resend)."""

    kind = forms.ChoiceField(label=_("Email"), choices=EmailNotification.Kind.choices)
