"""Stripe's Payment Element with the server-side confirmation flow (ConfirmationTokens).

With ``CHECKOUT_PAYMENT_UI = "payment_element"`` the payment page mounts the Payment
Element in deferred-intent mode (no PaymentIntent exists while the shopper types) with the
options ``payment_element_options`` gives it. On "Pay" the browser turns what the shopper
entered (a card, Link, Apple Pay or Google Pay) into a ConfirmationToken with
``stripe.createConfirmationToken`` and posts only its id. ``payment_intent_confirm_token``
then creates and confirms the PaymentIntent here, for the amount the server decided and
with manual capture, so the browser never names an amount. If the bank asks for 3-D
Secure the page runs ``stripe.handleNextAction`` on that one PaymentIntent: the shopper
authenticates at most once (there is no SetupIntent before it, as in the Card Element
flow localstripe needs).

localstripe cannot run any of this (no Payment Element, no ConfirmationTokens); a system
check (``checkout.E061``) refuses the setting with a localstripe API base.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import stripe
from django.utils.translation import gettext as _

from checkout.conf import app_settings
from checkout.exceptions import PaymentDeclined
from checkout.money import to_minor_units
from checkout.services.payments import PaymentIntentInfo, payment_intent_create_confirmed

logger = logging.getLogger(__name__)

PAYMENT_ELEMENT = "payment_element"
CARD_ELEMENT = "card_element"
CONFIRMATION_TOKEN_PREFIX = "ctoken_"  # noqa: S105 - an id prefix, not a secret


def payment_element_active() -> bool:
    """Return whether the payment step uses the Payment Element (else the Card Element)."""
    return app_settings.PAYMENT_UI == PAYMENT_ELEMENT


def payment_element_options(*, amount: Decimal, currency: str) -> dict[str, Any]:
    """Return the options of ``stripe.elements()`` for the Payment Element's page.

    The amount and currency only tell the Payment Element (and a wallet's payment sheet)
    what will be charged; the PaymentIntent's amount is decided again on the server.
    """
    return {
        "mode": "payment",
        "amount": to_minor_units(amount, currency=currency),
        "currency": currency.lower(),
        "captureMethod": "manual",
        "paymentMethodCreation": "manual",
        "paymentMethodTypes": list(app_settings.PAYMENT_METHOD_TYPES),
    }


def is_confirmation_token_id(value: object) -> bool:
    """Return whether ``value`` reads like a ConfirmationToken id (``ctoken_...``)."""
    return (
        isinstance(value, str)
        and value.startswith(CONFIRMATION_TOKEN_PREFIX)
        and len(value) <= 255
        and value.isascii()
        and all(c.isalnum() or c == "_" for c in value)
    )


def payment_intent_confirm_token(
    *,
    amount: Decimal,
    currency: str,
    confirmation_token_id: str,
    idempotency_key: str,
    metadata: Mapping[str, str],
) -> PaymentIntentInfo:
    """Create and confirm a manual-capture PaymentIntent with a ConfirmationToken.

    Returns the intent: ``requires_capture`` when authorized, ``requires_action`` when the
    bank asks for 3-D Secure (the page finishes it with the client secret). Raises
    ``PaymentDeclined`` for a declined card or an unusable token, ``StripeProviderError``
    for anything else.
    """
    if amount <= 0:
        raise ValueError("a PaymentIntent needs a positive amount")
    params: dict[str, Any] = {
        "amount": to_minor_units(amount, currency=currency),
        "currency": currency.lower(),
        "confirmation_token": confirmation_token_id,
        "confirm": True,
        "capture_method": "manual",
        # The same types the page's Payment Element offered: a token of another type is
        # refused by Stripe rather than charged.
        "payment_method_types": list(app_settings.PAYMENT_METHOD_TYPES),
        "metadata": dict(metadata),
    }

    def unusable(err: stripe.InvalidRequestError) -> PaymentDeclined | None:
        if getattr(err, "param", None) == "confirmation_token" or err.code in {
            "resource_missing",
            "confirmation_token_expired",
        }:
            # Unknown, used or expired token (a stale page or a forged request): the
            # shopper can enter the payment details again; Stripe is not down.
            return PaymentDeclined(
                _("We could not use those payment details. Please enter them again."),
                code="invalid_confirmation_token",
            )
        return None

    intent = payment_intent_create_confirmed(
        params=params, idempotency_key=idempotency_key, unusable=unusable
    )
    info = PaymentIntentInfo.from_stripe(intent)
    logger.info(
        "PaymentIntent %s confirmed with a ConfirmationToken status=%s key=%s",
        info.id,
        info.status,
        idempotency_key,
    )
    return info
