"""Payment verification: the sandbox's view of the tenant's Stripe account.

With ``--stripe-api-base`` and ``--stripe-secret-key`` the PaymentIntent is retrieved
with the real ``stripe`` SDK (pointed at localstripe in tests) and captured for the amount
charged. Without them any ``gateway_id`` starting with ``pi_`` is accepted.
"""

from __future__ import annotations

import logging
import threading
from decimal import Decimal
from typing import Any

from checkout.money import to_minor_units
from checkout.testing.sandbox.config import SandboxConfig
from checkout.testing.sandbox.records import ApiError

logger = logging.getLogger(__name__)


class PaymentGateway:
    """Verify-and-capture and refund, counting what happened for ``/_sandbox/state``."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._client: Any = None
        self._lock = threading.Lock()
        self.counters = {"checks": 0, "rejections": 0, "captures": 0, "refunds": 0}

    def _count(self, name: str) -> None:
        with self._lock:
            self.counters[name] += 1

    def reset_counters(self) -> None:
        with self._lock:
            self.counters = dict.fromkeys(self.counters, 0)

    def client(self) -> Any:
        if self._client is None:
            import stripe  # imported lazily: keeps the sandbox start fast

            self._client = stripe.StripeClient(
                self.config.stripe_secret_key,
                base_addresses={"api": self.config.stripe_api_base},
                max_network_retries=0,
                http_client=stripe.RequestsClient(timeout=self.config.stripe_timeout),
            )
        return self._client

    def _reject(self, code: str, message: str) -> ApiError:
        self._count("rejections")
        return ApiError(402, code, message)

    def verify_and_capture(self, gateway_id: str, amount: Decimal) -> None:
        """Raise a 402 ``ApiError`` unless ``gateway_id`` pays ``amount`` (USD); capture it."""
        self._count("checks")
        if not gateway_id.startswith("pi_"):
            raise self._reject("payment_not_authorized", "gateway_id is not a PaymentIntent.")
        if not self.config.stripe_enabled:
            self._count("captures")
            return
        import stripe

        cents = to_minor_units(amount, currency="USD")
        client = self.client()
        try:
            intent = client.v1.payment_intents.retrieve(gateway_id)
        except stripe.InvalidRequestError as exc:
            raise self._reject(
                "payment_not_authorized", "The PaymentIntent was not found."
            ) from exc
        except stripe.StripeError as exc:
            logger.warning("Stripe retrieve failed: %s", type(exc).__name__)
            raise ApiError(502, "payment_provider_error", "Stripe could not be reached.") from exc
        fields = intent.to_dict()
        status = str(fields.get("status"))
        currency = str(fields.get("currency") or "").lower()
        # localstripe returns a modified amount as a string.
        intent_amount = int(fields.get("amount") or 0)
        if status not in {"requires_capture", "succeeded"}:
            raise self._reject(
                "payment_not_authorized", f"The PaymentIntent is {status}, not authorized."
            )
        if currency != "usd" or intent_amount < cents:
            raise self._reject(
                "payment_amount_mismatch",
                "The PaymentIntent does not cover the amount to charge.",
            )
        if status == "requires_capture":
            try:
                client.v1.payment_intents.capture(gateway_id, params={"amount_to_capture": cents})
            except stripe.StripeError as exc:
                raise self._reject(
                    "payment_not_authorized", "The PaymentIntent could not be captured."
                ) from exc
        self._count("captures")

    def refund(self, gateway_id: str, amount: Decimal) -> None:
        if not self.config.stripe_enabled or not gateway_id.startswith("pi_"):
            return
        self.client().v1.refunds.create(
            params={"payment_intent": gateway_id, "amount": to_minor_units(amount, currency="USD")}
        )
        self._count("refunds")
