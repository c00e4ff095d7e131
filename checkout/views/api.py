"""The JSON endpoints checkout.js calls: pay (authorize the card) and place (the order).
They answer 4xx with ``{"reason", "message"}`` on bad input, never a 500.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import (
    HttpRequest,
    JsonResponse,
)
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from checkout.exceptions import (
    CheckoutStateError,
    PaymentDeclined,
    ProviderError,
    ShopperError,
)
from checkout.models import CheckoutAttempt
from checkout.ratelimit import (
    rate_limited,
)
from checkout.services import accounts, orders
from checkout.services import cart as cart_service
from checkout.services.payment_element import is_confirmation_token_id, payment_element_active
from checkout.views.common import (
    checkout_configured,
    current_attempt,
    json_body,
    json_error,
    provider_message,
    remember_language,
    step_url,
)

logger = logging.getLogger(__name__)


def _no_checkout() -> JsonResponse:
    return json_error(
        "no_checkout",
        _("Your checkout has expired. Please start again."),
        http_status=404,
        redirect=reverse("checkout:cart"),
    )


def _payable_attempt(request: HttpRequest) -> CheckoutAttempt | JsonResponse:
    """The session's own attempt, if it may be paid now."""
    attempt = current_attempt(request)
    if attempt is None:
        return _no_checkout()
    if attempt.state == CheckoutAttempt.State.COLLECTING and (
        orders.attempt_next_step(attempt) != "payment"
    ):
        return json_error(
            "step_unreachable",
            _("Complete the earlier checkout steps first."),
            http_status=409,
            redirect=step_url(orders.attempt_next_step(attempt)),
        )
    return attempt


@never_cache
@require_POST
@rate_limited("pay")
@checkout_configured
def checkout_pay(request: HttpRequest) -> JsonResponse:
    """Authorize the card -> ``{"status", "client_secret"}``.

    The body names the card the way the page's form made it: ``{"payment_method_id"}``
    from the Card Element, ``{"confirmation_token_id"}`` from the Payment Element
    (``CHECKOUT_PAYMENT_UI``); the other is refused. Both empty: a gift card covers it.
    """
    body = json_body(request)
    if body is None:
        return json_error("invalid_json", _("The request was not valid JSON."))
    payment_method_id = body.get("payment_method_id", "")
    token = body.get("confirmation_token_id", "")
    if payment_element_active():
        if payment_method_id != "" or not (token == "" or is_confirmation_token_id(token)):
            return json_error(
                "invalid_confirmation_token", _("The payment details were not received.")
            )
    elif token != "" or not isinstance(payment_method_id, str) or len(payment_method_id) > 255:
        return json_error("invalid_payment_method", _("The card details were not received."))
    found = _payable_attempt(request)
    if isinstance(found, JsonResponse):
        return found
    # Whoever is signed in when paying owns the order (signing in halfway counts).
    attempt = accounts.attempt_set_user(attempt=found, user=request.user)
    remember_language(attempt)
    try:
        outcome = orders.attempt_pay(
            attempt=attempt,
            payment_method_id=payment_method_id,
            confirmation_token_id=token,
            reload=False,
        )
    except PaymentDeclined as err:
        return json_error(err.code or "card_declined", err.message, http_status=402)
    except CheckoutStateError as err:
        return json_error(err.code or "invalid_state", err.message, http_status=409)
    except ShopperError as err:
        return json_error(err.code or "invalid", err.message, http_status=400)
    except ProviderError:
        logger.exception("attempt %s: payment failed at the provider", attempt.public_id)
        return json_error("provider_error", provider_message(), http_status=503)
    return JsonResponse({"status": outcome.status, "client_secret": outcome.client_secret})


@never_cache
@require_POST
@rate_limited("place")
@checkout_configured
def checkout_place(request: HttpRequest) -> JsonResponse:
    """Place the order for the authorized payment -> ``{"status", "redirect"}``."""
    if json_body(request) is None:
        return json_error("invalid_json", _("The request was not valid JSON."))
    attempt = current_attempt(request)
    if attempt is None:
        return _no_checkout()
    attempt = accounts.attempt_set_user(attempt=attempt, user=request.user)
    remember_language(attempt)
    try:
        # The attempt was read just now: order_place claims it with a compare-and-set.
        result = orders.order_place(attempt=attempt, reload=False)
    except ShopperError as err:
        return json_error(err.code or "invalid_state", err.message, http_status=409)
    except ProviderError:
        logger.exception("attempt %s: placing the order failed", attempt.public_id)
        return JsonResponse(
            {
                "status": "pending",
                "redirect": reverse("checkout:checkout-pending", args=[attempt.public_id]),
            },
            status=202,
        )
    return _placement_json(request, attempt, result)


def _placement_json(
    request: HttpRequest, attempt: CheckoutAttempt, result: orders.PlacementResult
) -> JsonResponse:
    if result.status == "placed":
        cart_service.cart_forget(request)
        return JsonResponse(
            {
                "status": "placed",
                "redirect": reverse("checkout:checkout-confirmation", args=[attempt.public_id]),
            }
        )
    if result.status == "pending":
        return JsonResponse(
            {
                "status": "pending",
                "redirect": reverse("checkout:checkout-pending", args=[attempt.public_id]),
            },
            status=202,
        )
    step = result.step or "payment"
    if step != "payment":
        messages.error(request, result.message)
    return json_error(
        result.code or "rejected",
        result.message,
        http_status=409,
        status="rejected",
        step=step,
        redirect=step_url(step) if step != "payment" else "",
    )
