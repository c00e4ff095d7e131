"""What every checkout view shares: step names, JSON errors, the shopper-safe provider
message, the session's own attempt and its language, the CSRF failure view, and
``checkout_configured``, the guard that answers "not set up" instead of failing when the
keys are missing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from checkout.checks import missing_keys
from checkout.models import CheckoutAttempt, Order
from checkout.services import cart as cart_service
from checkout.services import orders

logger = logging.getLogger(__name__)


STEPS = ("information", "shipping", "payment")
STEP_URLS = {
    "information": "checkout:checkout-information",
    "shipping": "checkout:checkout-shipping",
    "payment": "checkout:checkout-payment",
}
SESSION_ATTEMPT = "checkout_attempt"


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "") or (
        request.content_type == "application/json"
    )


def json_body(request: HttpRequest) -> dict[str, Any] | None:
    """Return the request's JSON object body ({} when empty), or None when it is not one."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting recurses
        return None
    return body if isinstance(body, dict) else None


def json_error(reason: str, message: str, *, http_status: int = 400, **extra: Any) -> JsonResponse:
    return JsonResponse({"reason": reason, "message": message, **extra}, status=http_status)


def provider_message() -> str:
    return _(
        "We could not reach our store system just now. Nothing was charged; "
        "please try again in a moment."
    )


ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])


def checkout_configured(view: ViewFunc) -> ViewFunc:
    """Answer 503 "not set up" (a page, or JSON when asked) while a required key is missing.

    The keys are not startup errors (``checks.check_required_keys`` is a deploy check), so
    the host site runs without them; this guard makes a checkout page say so plainly, and
    logs which settings to set, instead of failing deep inside an API call.
    """

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        missing = missing_keys()
        if not missing:
            return view(request, *args, **kwargs)
        logger.error(
            "The checkout is not set up: %s not set (see docs/install.md)", ", ".join(missing)
        )
        message = _("The checkout is not available right now. Please try again later.")
        if wants_json(request):
            return json_error("not_configured", message, http_status=503)
        return render(
            request,
            "checkout/not_configured.html",
            {"message": message, "missing": missing if settings.DEBUG else []},
            status=503,
        )

    return cast(ViewFunc, guarded)


def step_url(step: str) -> str:
    return reverse(STEP_URLS.get(step, STEP_URLS["information"]))


def attempt_in_session(request: HttpRequest, public_id: Any) -> CheckoutAttempt:
    """Return this session's attempt with ``public_id``; another shopper's is a 404."""
    owner = cart_service.session_owner(request)
    attempt = orders.attempt_in_session(public_id=public_id, owner=owner)
    if attempt is None:
        raise Http404(_("No such checkout."))
    return attempt


def current_attempt(request: HttpRequest) -> CheckoutAttempt | None:
    """Return the attempt the session last worked on (for pay/place), or None."""
    public_id = request.session.get(SESSION_ATTEMPT)
    if not public_id:
        return None
    try:
        return attempt_in_session(request, public_id)
    except Http404:  # not this session's (a malformed id reads as none)
        return None


def remember_language(attempt: CheckoutAttempt) -> None:
    """Keep the page's language on the attempt: the order's emails are written in it."""
    orders.attempt_remember_language(attempt=attempt, language=get_language())


@dataclass(frozen=True)
class RecentOrder:
    """The order this session placed last, or is still placing, and where to see it."""

    order_number: str  # "" while it is being confirmed
    url: str
    pending: bool


def recent_order(request: HttpRequest) -> RecentOrder | None:
    """Return the session's last order (or the one being confirmed), else None.

    Once an order is placed its cart leaves the session, so a page reached by the back
    button or from a second tab would only say the cart is empty; this is what it shows
    instead.
    """
    attempt = current_attempt(request)
    if attempt is None:
        return None
    order = Order.objects.filter(attempt=attempt).only("order_number").first()
    if order is not None:
        url = reverse("checkout:checkout-confirmation", kwargs={"public_id": attempt.public_id})
        return RecentOrder(order.order_number, url, pending=False)
    if attempt.state in (
        CheckoutAttempt.State.PAYMENT_AUTHORIZED,
        CheckoutAttempt.State.SUBMITTING,
        CheckoutAttempt.State.NEEDS_REVIEW,
    ):
        url = reverse("checkout:checkout-pending", kwargs={"public_id": attempt.public_id})
        return RecentOrder("", url, pending=True)
    return None


# Where the CSRF failure page sends the shopper back to, by the view that refused the post.
CSRF_RETURN = {
    "checkout-information": "checkout:checkout-information",
    "checkout-shipping": "checkout:checkout-shipping",
    "checkout-payment": "checkout:checkout-payment",
    "checkout-promo": "checkout:checkout-payment",
    "checkout-gift-card": "checkout:checkout-payment",
    "cart-update": "checkout:cart",
    "cart-remove": "checkout:cart",
}


def _csrf_return_url(request: HttpRequest) -> str:
    match = request.resolver_match
    url_name = (match.url_name or "") if match is not None else ""
    if url_name == "cart-add":  # posted from one of the merchant's pages: back to it
        referer = request.headers.get("Referer", "")
        if url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return referer
        return reverse("checkout:cart")
    name = CSRF_RETURN.get(url_name)
    if name is None:
        return request.path  # the page the form was on (a product page, say)
    try:
        return reverse(name)
    except NoReverseMatch:
        return request.path


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Answer a refused post to a checkout view: JSON for the machine endpoints, else a page
    telling the shopper to reload, with a link back to the step (see ``checkout.csrf``)."""
    if wants_json(request):
        return json_error(
            "csrf_failed",
            _("Your session has expired. Reload the page and try again."),
            http_status=403,
        )
    response = render(
        request,
        "checkout/csrf_failure.html",
        {"return_url": _csrf_return_url(request), "no_cookie": reason == REASON_NO_CSRF_COOKIE},
        status=403,
    )
    add_never_cache_headers(response)
    return response
