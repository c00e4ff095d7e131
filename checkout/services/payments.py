"""Stripe: SetupIntents and PaymentIntents through one ``StripeClient``, amounts in minor units.

This module is the only place that talks to Stripe about payments (webhook endpoints are
``services/stripe_webhooks.py``); amounts cross it as ``Decimal`` and
become Stripe's integer minor units through ``checkout.money`` (cents for USD, whole yen
for JPY, fils for KWD), in the currency of the intent or refund at hand. The client
is built from settings (``CHECKOUT_STRIPE_*``) and cached per configuration; pointing
``CHECKOUT_STRIPE_API_BASE`` at localstripe is all it takes to run offline.

Stripe errors become our exceptions: a ``CardError`` is a ``PaymentDeclined`` carrying a
message the shopper can act on (from the decline code); anything else is a
``StripeProviderError``. Card data never reaches this module: the browser turns the card
into a PaymentMethod with Stripe.js and we only see its id.

localstripe quirks we stay inside: it ignores
idempotency keys (we still send them; our database prevents duplicates), refuses
``description``/``receipt_email``/``automatic_payment_methods``/``return_url``/
``cancellation_reason``, wants the payment method at create time, may send ``amount``
back as a string, and cannot retry a PaymentIntent after a decline (a new one is needed).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import stripe
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from checkout.conf import app_settings
from checkout.exceptions import PaymentDeclined, StripeProviderError
from checkout.money import from_minor_units, to_minor_units
from checkout.services.http import service_session

logger = logging.getLogger(__name__)

# Seconds before a Stripe call is given up (the SDK default is 80).
STRIPE_TIMEOUT = 30.0


# --- Client ----------------------------------------------------------------------------

_MAX_CLIENTS = 4
_clients: OrderedDict[tuple[str, str | None], stripe.StripeClient] = OrderedDict()
_clients_lock = threading.Lock()


def get_stripe_client() -> stripe.StripeClient:
    """Return the shared ``StripeClient`` for the current settings.

    Network retries are off against localstripe (it would see one failure three times)
    and 2 against Stripe, which honours our idempotency keys.
    """
    key = app_settings.STRIPE_SECRET_KEY
    if not key:
        raise ImproperlyConfigured("CHECKOUT_STRIPE_SECRET_KEY is not set.")
    base = app_settings.STRIPE_API_BASE
    config = (key, base)
    with _clients_lock:
        client = _clients.get(config)
        if client is not None:
            _clients.move_to_end(config)
            return client
        kwargs: dict[str, Any] = {
            "max_network_retries": 0 if base else 2,
            "http_client": stripe.RequestsClient(
                timeout=STRIPE_TIMEOUT,
                session=service_session([base or stripe.DEFAULT_API_BASE]),
            ),
        }
        if base:
            kwargs["base_addresses"] = {"api": base}
        client = stripe.StripeClient(key, **kwargs)
        _clients[config] = client
        while len(_clients) > _MAX_CLIENTS:
            _clients.popitem(last=False)
        return client


def clear_stripe_clients() -> None:
    """Forget the cached clients (for tests)."""
    with _clients_lock:
        _clients.clear()


# --- Results ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentIntentInfo:
    """The parts of a PaymentIntent the checkout decides on."""

    id: str
    status: str
    amount: Decimal
    currency: str
    client_secret: str | None
    capture_method: str
    metadata: Mapping[str, str]
    last_error_code: str = ""
    # Stripe sends it; localstripe does not (then a succeeded intent received ``amount``).
    amount_received: Decimal | None = None

    @property
    def requires_capture(self) -> bool:
        """Return whether the card is authorized and waiting for a capture."""
        return self.status == "requires_capture"

    @property
    def captured(self) -> bool:
        """Return whether the money was taken (the hold was captured)."""
        return self.status == "succeeded"

    @property
    def received(self) -> Decimal:
        """Return the amount captured so far (zero unless ``succeeded``)."""
        if not self.captured:
            return Decimal("0.00")
        return self.amount_received if self.amount_received is not None else self.amount

    @property
    def requires_action(self) -> bool:
        """Return whether the bank asks the shopper to authenticate (3-D Secure)."""
        return self.status == "requires_action"

    @classmethod
    def from_stripe(cls, intent: Any) -> PaymentIntentInfo:
        """Build from a ``stripe.PaymentIntent`` (or any object that reads like one)."""
        data = intent.to_dict() if hasattr(intent, "to_dict") else dict(intent)
        error = data.get("last_payment_error") or {}
        metadata = data.get("metadata") or {}
        currency = str(data.get("currency") or "usd")
        return cls(
            id=str(data["id"]),
            status=str(data.get("status") or ""),
            amount=from_minor_units(data.get("amount") or 0, currency=currency),
            currency=currency.lower(),
            client_secret=data.get("client_secret"),
            capture_method=str(data.get("capture_method") or ""),
            metadata={str(k): str(v) for k, v in dict(metadata).items()},
            last_error_code=str(
                (error.get("decline_code") or error.get("code") or "")
                if isinstance(error, Mapping)
                else ""
            ),
            amount_received=(
                None
                if data.get("amount_received") is None
                else from_minor_units(data["amount_received"], currency=currency)
            ),
        )


# --- Errors ----------------------------------------------------------------------------


def decline_message(code: str) -> str:
    """Return what the shopper should read (and can act on) for a decline code."""
    messages = {
        "insufficient_funds": _(
            "Your card has insufficient funds. Try another card or a different payment method."
        ),
        "expired_card": _("Your card has expired. Check the expiry date or use another card."),
        "incorrect_cvc": _("The security code (CVC) is incorrect. Check it and try again."),
        "invalid_cvc": _("The security code (CVC) is incorrect. Check it and try again."),
        "incorrect_number": _("The card number is incorrect. Check it and try again."),
        "invalid_expiry_month": _("The expiry date is invalid. Check it and try again."),
        "invalid_expiry_year": _("The expiry date is invalid. Check it and try again."),
        "processing_error": _(
            "Your bank could not process the card just now. Wait a moment and try again."
        ),
        "authentication_required": _(
            "Your bank needs you to confirm this payment. Try again and complete the check."
        ),
        "payment_intent_authentication_failure": _(
            "The card could not be authenticated. Try again or use another card."
        ),
    }
    # Lost, stolen, fraudulent, do_not_honor, generic_decline, card_declined...: never
    # tell the shopper why the bank refused, only what to do.
    return messages.get(
        code,
        _("Your card was declined. Try another card or contact your bank."),
    )


def _decline(err: stripe.CardError) -> PaymentDeclined:
    error = err.error
    decline_code = str(getattr(error, "decline_code", None) or "") if error else ""
    code = str(err.code or "card_declined")
    shown = decline_code or code
    return PaymentDeclined(decline_message(shown), code=code, decline_code=decline_code)


def _provider_error(err: stripe.StripeError, action: str) -> StripeProviderError:
    # str(err) is Stripe's own message; it carries no key or card number.
    return StripeProviderError(f"Stripe {action} failed: {type(err).__name__} {err.http_status}")


# --- Services --------------------------------------------------------------------------


@dataclass(frozen=True)
class SetupIntentInfo:
    """What the checkout needs of a SetupIntent: its id, status and client secret."""

    id: str
    status: str
    client_secret: str

    @property
    def unused(self) -> bool:
        """No card has been confirmed on it yet: the page may still use it."""
        return self.status == "requires_payment_method"


def setup_intent_create(*, metadata: Mapping[str, str] | None = None) -> SetupIntentInfo:
    """Create a SetupIntent for Stripe.js ``confirmCardSetup``."""
    params: dict[str, Any] = {"payment_method_types": ["card"]}
    if metadata:
        params["metadata"] = dict(metadata)
    try:
        intent = get_stripe_client().v1.setup_intents.create(params=params)  # type: ignore[arg-type]
    except stripe.StripeError as err:
        raise _provider_error(err, "SetupIntent create") from err
    return SetupIntentInfo(str(intent.id), str(intent.status), str(intent.client_secret))


def setup_intent_retrieve(*, setup_intent_id: str) -> SetupIntentInfo:
    """Return a SetupIntent as Stripe sees it now."""
    try:
        intent = get_stripe_client().v1.setup_intents.retrieve(setup_intent_id)
    except stripe.StripeError as err:
        raise _provider_error(err, "SetupIntent retrieve") from err
    return SetupIntentInfo(str(intent.id), str(intent.status), str(intent.client_secret))


def payment_intent_create(
    *,
    amount: Decimal,
    currency: str,
    payment_method_id: str,
    idempotency_key: str,
    metadata: Mapping[str, str],
) -> PaymentIntentInfo:
    """Create and confirm a manual-capture PaymentIntent for ``amount``.

    Returns the intent (``requires_capture`` when authorized, ``requires_action`` when
    the bank asks for 3-D Secure). Raises ``PaymentDeclined`` for a card error and
    ``StripeProviderError`` for anything else.
    """
    if amount <= 0:
        raise ValueError("a PaymentIntent needs a positive amount")
    params: dict[str, Any] = {
        "amount": to_minor_units(amount, currency=currency),
        "currency": currency.lower(),
        "payment_method": payment_method_id,
        "payment_method_types": ["card"],
        "capture_method": "manual",
        "confirm": True,
        "metadata": dict(metadata),
    }

    def unusable(err: stripe.InvalidRequestError) -> PaymentDeclined | None:
        # Stripe names the parameter (resource_missing, param payment_method); localstripe
        # answers a bare 404. Creating references nothing else that could be missing.
        if (
            getattr(err, "param", None) == "payment_method"
            or err.code == "resource_missing"
            or err.http_status == 404
        ):
            # An unknown or unusable payment method id (a forged request, or a stale page):
            # the shopper can fix it by entering the card again; Stripe is not down.
            return PaymentDeclined(
                _("We could not use those card details. Please enter your card again."),
                code="invalid_payment_method",
            )
        return None

    intent = payment_intent_create_confirmed(
        params=params, idempotency_key=idempotency_key, unusable=unusable
    )
    info = PaymentIntentInfo.from_stripe(intent)
    logger.info("PaymentIntent %s created status=%s key=%s", info.id, info.status, idempotency_key)
    return info


def payment_intent_create_confirmed(
    *,
    params: dict[str, Any],
    idempotency_key: str,
    unusable: Callable[[stripe.InvalidRequestError], PaymentDeclined | None],
) -> Any:
    """Create (and confirm) a PaymentIntent with ``params``; return Stripe's object.

    The one place both payment forms create an intent. A card error becomes
    ``PaymentDeclined``; an invalid request becomes what ``unusable`` makes of it (the
    shopper can enter their details again) or, if nothing, ``StripeProviderError``, as does
    any other Stripe error.
    """
    try:
        return get_stripe_client().v1.payment_intents.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": idempotency_key},
        )
    except stripe.CardError as err:
        declined = _decline(err)
        logger.info(
            "PaymentIntent declined (%s/%s) key=%s",
            declined.code,
            declined.decline_code or "-",
            idempotency_key,
        )
        raise declined from err
    except stripe.InvalidRequestError as err:
        refused = unusable(err)
        if refused is not None:
            logger.info(
                "PaymentIntent refused (%s: %s) key=%s", err.code, refused.code, idempotency_key
            )
            raise refused from err
        raise _provider_error(err, "PaymentIntent create") from err
    except stripe.StripeError as err:
        raise _provider_error(err, "PaymentIntent create") from err


def payment_intent_retrieve(*, payment_intent_id: str) -> PaymentIntentInfo:
    """Return the PaymentIntent as Stripe sees it now (never trust the browser's word)."""
    try:
        intent = get_stripe_client().v1.payment_intents.retrieve(payment_intent_id)
    except stripe.StripeError as err:
        raise _provider_error(err, "PaymentIntent retrieve") from err
    return PaymentIntentInfo.from_stripe(intent)


def payment_intent_cancel(*, payment_intent_id: str) -> PaymentIntentInfo:
    """Cancel a PaymentIntent, releasing its hold; cancelling twice is not an error."""
    client = get_stripe_client()
    try:
        intent = client.v1.payment_intents.cancel(payment_intent_id)
    except stripe.InvalidRequestError as err:
        # Already cancelled (or captured): report the state it is in instead.
        current = payment_intent_retrieve(payment_intent_id=payment_intent_id)
        if current.status in {"canceled", "succeeded"}:
            return current
        raise _provider_error(err, "PaymentIntent cancel") from err
    except stripe.StripeError as err:
        raise _provider_error(err, "PaymentIntent cancel") from err
    info = PaymentIntentInfo.from_stripe(intent)
    logger.info("PaymentIntent %s cancelled", info.id)
    return info


def payment_intent_capture(
    *, payment_intent_id: str, amount: Decimal, currency: str, idempotency_key: str
) -> PaymentIntentInfo:
    """Capture ``amount`` of an authorized PaymentIntent; capturing twice is not an error.

    Raises ``StripeProviderError`` when Stripe cannot be reached or refuses (for example
    an expired or cancelled hold): the caller reads the intent again to learn which.
    """
    client = get_stripe_client()
    try:
        intent = client.v1.payment_intents.capture(
            payment_intent_id,
            params={"amount_to_capture": to_minor_units(amount, currency=currency)},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as err:
        # Already captured (a retry, or the API captured meanwhile): report what is.
        try:
            current = payment_intent_retrieve(payment_intent_id=payment_intent_id)
        except StripeProviderError:
            current = None
        if current is not None and current.captured:
            return current
        raise _provider_error(err, "PaymentIntent capture") from err
    info = PaymentIntentInfo.from_stripe(intent)
    logger.info("PaymentIntent %s captured %s key=%s", info.id, amount, idempotency_key)
    return info


def payment_intent_refunded(*, payment_intent_id: str) -> Decimal:
    """Return how much of the PaymentIntent's captured money was refunded so far."""
    try:
        refunds = get_stripe_client().v1.refunds.list(
            params={"payment_intent": payment_intent_id, "limit": 100}
        )
    except stripe.StripeError as err:
        raise _provider_error(err, "Refund list") from err
    total = Decimal("0.00")
    for refund in refunds.data:
        data = refund.to_dict()
        if data.get("payment_intent") not in (None, payment_intent_id):
            continue  # a fake that ignores the filter must not count others' refunds
        if str(data.get("status") or "succeeded") in {"failed", "canceled"}:
            continue
        total += from_minor_units(
            data.get("amount") or 0, currency=str(data.get("currency") or "usd")
        )
    return total


def payment_intent_refund(
    *, payment_intent_id: str, amount: Decimal, currency: str, idempotency_key: str
) -> Decimal:
    """Refund ``amount`` of a captured PaymentIntent and return the amount refunded."""
    try:
        refund = get_stripe_client().v1.refunds.create(
            params={
                "payment_intent": payment_intent_id,
                "amount": to_minor_units(amount, currency=currency),
            },
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as err:
        raise _provider_error(err, "Refund") from err
    logger.info("PaymentIntent %s refunded %s key=%s", payment_intent_id, amount, idempotency_key)
    data = refund.to_dict()
    return from_minor_units(data.get("amount") or 0, currency=str(data.get("currency") or currency))
