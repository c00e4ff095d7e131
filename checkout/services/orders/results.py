"""What the checkout services answer with: payment and placement outcomes, shared names."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from django.utils.translation import gettext as _

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


def _pending(attempt: CheckoutAttempt) -> PlacementResult:
    return PlacementResult(
        "pending",
        None,
        "confirming",
        _("We are confirming your order. This page will update in a moment."),
        None,
    )
