"""What the checkout services answer with: payment and placement outcomes, shared names."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from django.utils import timezone
from django.utils.translation import gettext as _

from checkout.conf import app_settings
from checkout.models import CheckoutAttempt, Order

logger = logging.getLogger(__name__)


State = CheckoutAttempt.State
Step = Literal["information", "shipping", "payment"]

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PaymentOutcome:
    """What the payment step did: authorized, needs 3-D Secure, or nothing to charge."""

    status: Literal["authorized", "requires_action", "not_required"]
    payment_intent_id: str
    client_secret: str | None


@dataclass(frozen=True)
class PlacementResult:
    """What placing the order came to; ``message`` is safe to show the shopper.

    ``step`` names the checkout step where the shopper can fix a rejection; ``None``
    with ``rejected`` means the cart itself must change (e.g. an item sold out).
    """

    status: Literal["placed", "rejected", "pending"]
    order: Order | None
    code: str
    message: str
    step: Step | None


def in_flight_window() -> dt.timedelta:
    """How long a POST /orders may still be running: connect + order timeout + a margin."""
    return dt.timedelta(
        seconds=app_settings.SPECTRA_CONNECT_TIMEOUT + app_settings.SPECTRA_ORDER_TIMEOUT + 30
    )


def confirmation_delayed(attempt: CheckoutAttempt) -> bool:
    """Whether the order's outcome is still unknown after its request would have ended."""
    if attempt.state == CheckoutAttempt.State.NEEDS_REVIEW:
        return True
    return (
        attempt.state == CheckoutAttempt.State.SUBMITTING
        and attempt.submitted_at is not None
        and timezone.now() - attempt.submitted_at > in_flight_window()
    )


def _pending(attempt: CheckoutAttempt) -> PlacementResult:
    if confirmation_delayed(attempt):
        # True to what happens next: the hold stays until the order is confirmed (then
        # the confirmation email goes out) or, if it cannot be, released by us or staff.
        return PlacementResult(
            "pending",
            None,
            "confirming_delayed",
            _(
                "Confirming your order is taking longer than usual. Your card is authorized "
                "but not charged. We will email your confirmation as soon as the order is "
                "placed; if it cannot be placed, the authorization is released. Please don't "
                "pay again."
            ),
            None,
        )
    return PlacementResult(
        "pending",
        None,
        "confirming",
        _("We are confirming your order. This page will update in a moment."),
        None,
    )
