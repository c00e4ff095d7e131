"""Test the Payment Element flow without Stripe: Stripe's API answers and a Stripe.js double.

localstripe has no Payment Element and no ConfirmationTokens, so this flow is tested
against answers recorded in the shapes of Stripe's API reference:

- ``StripeAnswers`` serves ``/v1/payment_intents`` (create, retrieve, capture, cancel)
  through ``responses`` (the ``stripe`` SDK uses ``requests``). The ConfirmationToken id
  picks the outcome, like Stripe's test cards: ``ctoken_4242424242424242`` authorizes,
  ``ctoken_4000002500003155`` asks for 3-D Secure, ``ctoken_4000000000000002`` is
  declined (402 ``card_declined``), ``ctoken_expired`` is refused (400). ``authenticate``
  plays the bank's answer to 3-D Secure.
- ``PAYMENT_ELEMENT_DOUBLE`` is a double of Stripe.js's Payment Element surface
  (``stripejs/payment_element_double.js``); ``serve_payment_element_double`` makes a
  Playwright page load it wherever it asks for ``CHECKOUT_STRIPE_JS_URL``.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

PAYMENT_ELEMENT_DOUBLE = Path(__file__).with_name("stripejs") / "payment_element_double.js"

STRIPE_API = "https://api.stripe.com"
AUTHORIZED_TOKEN = "ctoken_4242424242424242"
THREE_D_SECURE_TOKEN = "ctoken_4000002500003155"
DECLINED_TOKEN = "ctoken_4000000000000002"
EXPIRED_TOKEN = "ctoken_expired"

_ids = itertools.count(1)


def _form(body: Any) -> dict[str, Any]:
    """Decode the SDK's form body (``a[0]=x``, ``metadata[k]=v``) into plain values."""
    text = body.decode() if isinstance(body, bytes) else str(body or "")
    data: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        match = re.fullmatch(r"(\w+)\[(\w*)\]", key)
        if match is None:
            data[key] = value
        elif match[2].isdigit() or match[2] == "":
            data.setdefault(match[1], []).append(value)
        else:
            data.setdefault(match[1], {})[match[2]] = value
    return data


class StripeAnswers:
    """A stateful stand-in for Stripe's PaymentIntents API, registered on ``mock``.

    ``created`` holds the decoded body of every create call, so a test can check what
    the server asked Stripe for (amount, capture method, token).
    """

    def __init__(self, mock: Any, *, api_base: str = STRIPE_API) -> None:
        self.intents: dict[str, dict[str, Any]] = {}
        self.created: list[dict[str, Any]] = []
        self.captured: list[str] = []
        base = re.escape(api_base.rstrip("/"))
        mock.add_callback("POST", f"{api_base.rstrip('/')}/v1/payment_intents", self._create)
        one = re.compile(rf"{base}/v1/payment_intents/(pi_\w+)$")
        mock.add_callback("GET", one, self._retrieve)
        mock.add_callback(
            "POST", re.compile(rf"{base}/v1/payment_intents/(pi_\w+)/capture$"), self._capture
        )
        mock.add_callback(
            "POST", re.compile(rf"{base}/v1/payment_intents/(pi_\w+)/cancel$"), self._cancel
        )

    # --- Stripe's objects -----------------------------------------------------------------

    def _intent(self, params: dict[str, Any], status: str) -> dict[str, Any]:
        pi_id = f"pi_3Double{next(_ids):08d}"
        intent: dict[str, Any] = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "amount_capturable": int(params["amount"]) if status == "requires_capture" else 0,
            "amount_received": 0,
            "capture_method": params.get("capture_method", "automatic_async"),
            "client_secret": f"{pi_id}_secret_double",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": params["currency"],
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": params.get("metadata", {}),
            "next_action": None,
            "payment_method": "pm_1Double",
            "payment_method_types": params.get("payment_method_types", ["card"]),
            "status": status,
        }
        if status == "requires_action":
            intent["next_action"] = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": ""},
            }
        self.intents[pi_id] = intent
        return intent

    @staticmethod
    def _error(status: int, error: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        return status, {"Request-Id": "req_double"}, json.dumps({"error": error})

    @staticmethod
    def _ok(intent: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        return 200, {"Request-Id": "req_double"}, json.dumps(intent)

    # --- Endpoints ---------------------------------------------------------------------

    def _create(self, request: Any) -> tuple[int, dict[str, str], str]:
        params = _form(request.body)
        self.created.append(params)
        token = params.get("confirmation_token", "")
        if token == AUTHORIZED_TOKEN:
            return self._ok(self._intent(params, "requires_capture"))
        if token == THREE_D_SECURE_TOKEN:
            return self._ok(self._intent(params, "requires_action"))
        if token == DECLINED_TOKEN:
            intent = self._intent(params, "requires_payment_method")
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
                "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                "request_log_url": "https://dashboard.stripe.com/test/logs/req_double",
            }
            intent["last_payment_error"] = error
            return self._error(402, {**error, "payment_intent": intent})
        return self._error(
            400,
            {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "param": "confirmation_token",
                "message": f"No such confirmation_token: '{token}'",
                "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
            },
        )

    def _found(self, request: Any) -> dict[str, Any] | None:
        match = re.search(r"/v1/payment_intents/(pi_\w+)", request.url)
        return self.intents.get(match[1]) if match else None

    def _missing(self) -> tuple[int, dict[str, str], str]:
        return self._error(
            404,
            {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "message": "No such payment_intent",
            },
        )

    def _retrieve(self, request: Any) -> tuple[int, dict[str, str], str]:
        intent = self._found(request)
        return self._ok(intent) if intent else self._missing()

    def _capture(self, request: Any) -> tuple[int, dict[str, str], str]:
        intent = self._found(request)
        if intent is None:
            return self._missing()
        if intent["status"] != "requires_capture":
            return self._error(
                400,
                {
                    "type": "invalid_request_error",
                    "code": "payment_intent_unexpected_state",
                    "message": "This PaymentIntent could not be captured because it has "
                    f"a status of {intent['status']}.",
                },
            )
        params = _form(request.body)
        amount = int(params.get("amount_to_capture", intent["amount"]))
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        self.captured.append(intent["id"])
        return self._ok(intent)

    def _cancel(self, request: Any) -> tuple[int, dict[str, str], str]:
        intent = self._found(request)
        if intent is None:
            return self._missing()
        intent.update(
            status="canceled", amount_capturable=0, cancellation_reason="requested_by_customer"
        )
        return self._ok(intent)

    # --- The bank ------------------------------------------------------------------------

    def authenticate(self, payment_intent_id: str, *, success: bool = True) -> None:
        """The shopper's bank answers 3-D Secure: authorized, or back to a payment method."""
        intent = self.intents[payment_intent_id]
        if success:
            intent.update(
                status="requires_capture", next_action=None, amount_capturable=intent["amount"]
            )
        else:
            intent.update(
                status="requires_payment_method",
                next_action=None,
                last_payment_error={
                    "type": "invalid_request_error",
                    "code": "payment_intent_authentication_failure",
                    "message": "The provided PaymentMethod has failed authentication.",
                },
            )


def serve_payment_element_double(page: Any, stripe_js_url: str) -> None:
    """Make a Playwright ``page`` get the Payment Element double for ``stripe_js_url``."""
    body = PAYMENT_ELEMENT_DOUBLE.read_text()
    page.route(
        stripe_js_url,
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=body),
    )
