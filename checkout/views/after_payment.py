"""After payment: the pending page, the confirmation, and the guest order-status page
behind a signed link.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import redirect, render
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from checkout.conf import app_settings
from checkout.csp import checkout_csp
from checkout.exceptions import (
    ProviderError,
    ShopperError,
)
from checkout.links import order_pk_from_status_token, order_status_url
from checkout.models import CheckoutAttempt, Order
from checkout.services import cart as cart_service
from checkout.services import orders
from checkout.services.notifications import tracking_url
from checkout.views.common import attempt_in_session, step_url

logger = logging.getLogger(__name__)


@checkout_csp
@never_cache
@require_GET
def checkout_pending(request: HttpRequest, public_id: Any) -> HttpResponse:
    """'We are confirming your order': refreshes itself until the attempt resolves."""
    attempt = attempt_in_session(request, public_id)
    if Order.objects.filter(attempt=attempt).exists():
        return redirect("checkout:checkout-confirmation", public_id=attempt.public_id)
    result: orders.PlacementResult | None = None
    if attempt.state in (*CheckoutAttempt.OPEN_STATES, CheckoutAttempt.State.NEEDS_REVIEW) and (
        attempt.state != CheckoutAttempt.State.COLLECTING
    ):
        try:
            result = orders.order_place(attempt=attempt)
        except (ShopperError, ProviderError):
            logger.warning("attempt %s: still resolving the order", attempt.public_id)
    if result is not None and result.status == "placed":
        cart_service.cart_forget(request)
        return redirect("checkout:checkout-confirmation", public_id=attempt.public_id)
    attempt.refresh_from_db()
    failed = (result is not None and result.status == "rejected") or attempt.state in (
        CheckoutAttempt.State.FAILED,
        CheckoutAttempt.State.COLLECTING,
    )
    message = (result.message if result is not None else "") or attempt.failure_message
    step = (result.step if result is not None else None) or "payment"
    delayed = result is not None and result.code == "confirming_delayed"
    return render(
        request,
        "checkout/pending.html",
        {
            "attempt": attempt,
            "failed": failed,
            "message": message,
            "fix_url": step_url(step),
            # An outcome still unknown after its request ended is settled by recovery,
            # the webhook or staff, in minutes: no need to ask every three seconds.
            "delayed": delayed,
            "refresh_seconds": 30 if delayed else 3,
        },
    )


@checkout_csp
@never_cache
@require_GET
def checkout_confirmation(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The confirmation page: order number, items, totals, addresses; safe to refresh."""
    attempt = attempt_in_session(request, public_id)
    order = Order.objects.filter(attempt=attempt).first()
    if order is None:
        return redirect("checkout:checkout-pending", public_id=attempt.public_id)
    cart_service.cart_forget(request)
    return render(
        request,
        "checkout/confirmation.html",
        {
            "order": order,
            "status_url": order_status_url(order),
            **_order_context(order),
        },
    )


@checkout_csp
@never_cache
@require_GET
def order_status(request: HttpRequest, token: str) -> HttpResponse:
    """The guest order-status page behind a signed, expiring link.

    The link names the order; two columns say whether the cached details are still
    current, and the whole order is read only when they must be rendered again.
    """
    pk = order_pk_from_status_token(token)
    try:
        if pk is None:
            raise Order.DoesNotExist
        head = Order.objects.values("order_number", "updated_at").get(pk=pk)
    except Order.DoesNotExist:
        raise Http404(_("This link is not valid or has expired.")) from None
    # The API's full answer (``raw``) is for staff; the page never shows it.
    order = SimpleLazyObject(lambda: Order.objects.defer("raw").get(pk=pk))
    details = SimpleLazyObject(lambda: _order_context(order))  # type: ignore[arg-type]
    seconds = app_settings.FRAGMENT_CACHE_SECONDS
    context = {
        "order": order,
        "order_number": head["order_number"],
        **{name: _detail(details, name) for name in ORDER_CONTEXT},
        # The details change only with the order; the link is what grants seeing them.
        "fragment_cache": {
            "seconds": seconds,
            "key": f"order:{pk}:{head['updated_at'].isoformat()}:{get_language()}",
        }
        if seconds
        else None,
    }
    response = render(request, "checkout/order_status.html", context)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


# What _order_context gives a page; the status page reads each only when it renders them.
ORDER_CONTEXT = ("shipping_method", "tracking_url", "status_steps", "status_label")


def _detail(details: Any, name: str) -> Callable[[], Any]:
    return lambda: details[name]


def _order_context(order: Order) -> dict[str, Any]:
    method = order.shipping_method or {}
    progress = ["pending", "processing", "shipped", "delivered"]
    position = progress.index(order.status) if order.status in progress else -1
    return {
        "shipping_method": method,
        "tracking_url": tracking_url(
            carrier=order.shipping_carrier or str(method.get("carrier") or ""),
            tracking_number=order.tracking_number,
        ),
        "status_steps": [
            {"name": name, "label": label, "done": i <= position, "current": i == position}
            for i, (name, label) in enumerate(
                (
                    ("pending", _("Received")),
                    ("processing", _("Processing")),
                    ("shipped", _("Shipped")),
                    ("delivered", _("Delivered")),
                )
            )
        ],
        "status_label": dict(Order.Status.choices).get(order.status, order.status),
    }
