"""The cart's pages: the cart itself, its line changes, and ``cart-add``, the way a
merchant's own product pages put a product into the checkout.

``cart-add`` answers a form POST with a redirect (to a safe ``next``, else the cart) and a
message, and a JSON request (``Accept: application/json``) with JSON: 200 and the cart's
count, or a 4xx with ``{"reason", "message"}``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from checkout.csp import checkout_csp
from checkout.exceptions import (
    CartAddError,
    ProviderError,
    SpectraConflict,
    SpectraNotFound,
    SpectraValidationError,
)
from checkout.forms import CartAddForm, CartLineForm
from checkout.services import cart as cart_service
from checkout.views.common import (
    checkout_configured,
    json_body,
    json_error,
    provider_message,
    recent_order,
    wants_json,
)

logger = logging.getLogger(__name__)

# HTTP status of a JSON answer per CartAddError code.
CART_ADD_ERROR_STATUS = {"unknown_product": 404, "insufficient_stock": 409}


def _safe_next(request: HttpRequest, value: str) -> str | None:
    """Return ``value`` when it points into this site (never to another host), else None."""
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return None


@never_cache
@require_POST
@checkout_configured
def cart_add(request: HttpRequest) -> HttpResponse:
    """Add a variant (by ``variant_id`` or ``sku``) to the cart from a merchant's page."""
    as_json = wants_json(request)
    if request.content_type == "application/json":
        body = json_body(request)
        if body is None:
            return json_error("invalid", _("Send a JSON object."))
        form = CartAddForm({k: "" if v is None else str(v) for k, v in body.items()})
    else:
        form = CartAddForm(request.POST)
    if not form.is_valid():
        errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
        message = " ".join(" ".join(errs) for errs in errors.values())
        if as_json:
            return json_error("invalid", message, errors=errors)
        messages.error(request, message)
        next_url = _safe_next(request, str(form.data.get("next") or ""))
        return redirect(next_url or "checkout:cart")
    data: dict[str, Any] = form.cleaned_data
    after = _safe_next(request, data["next"]) or reverse("checkout:cart")
    try:
        cart = cart_service.cart_add(
            request,
            variant_id=data["variant_id"],
            sku=data["sku"] or None,
            quantity=data["quantity"],
        )
    except CartAddError as err:
        if as_json:
            return json_error(
                err.code, err.message, http_status=CART_ADD_ERROR_STATUS.get(err.code, 400)
            )
        messages.error(request, err.message)
        return redirect(after)
    except ProviderError:
        logger.exception(
            "Could not add variant %s / SKU %r to the cart", data["variant_id"], data["sku"]
        )
        if as_json:
            return json_error("unavailable", provider_message(), http_status=503)
        messages.error(request, provider_message())
        return redirect(after)
    line = next(
        (
            item
            for item in cart.items
            if item.variant_id == data["variant_id"] or (data["sku"] and item.sku == data["sku"])
        ),
        None,
    )
    if line is not None:
        message = _("%(name)s was added to your cart.") % {"name": line.name}
    else:
        message = _("Added to your cart.")
    if as_json:
        return JsonResponse(
            {
                "message": message,
                "item_count": cart.item_count,
                "subtotal": str(cart.subtotal),
                "cart_url": reverse("checkout:cart"),
            }
        )
    messages.success(request, message)
    return redirect(after)


@checkout_csp
@never_cache
@require_GET
@checkout_configured
def cart_detail(request: HttpRequest) -> HttpResponse:
    """Show the cart: lines with quantity and remove, subtotal, checkout button."""
    try:
        cart = cart_service.cart_get(request)
    except ProviderError:
        logger.exception("Could not load the cart")
        messages.error(request, provider_message())
        cart = None
    empty = cart is None or not cart.items
    return render(
        request,
        "checkout/cart.html",
        {"cart": cart, "recent_order": recent_order(request) if empty else None},
    )


@never_cache
@require_POST
@checkout_configured
def cart_update(request: HttpRequest, item_id: str) -> HttpResponse:
    """Change a line's quantity (0 removes it)."""
    form = CartLineForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a quantity between 0 and 99."))
        return redirect("checkout:cart")
    return _cart_change(request, item_id, form.cleaned_data["quantity"])


@never_cache
@require_POST
@checkout_configured
def cart_remove(request: HttpRequest, item_id: str) -> HttpResponse:
    """Remove a line."""
    return _cart_change(request, item_id, 0)


def _cart_change(request: HttpRequest, item_id: str, quantity: int) -> HttpResponse:
    try:
        cart = cart_service.cart_update_item(request, item_id=item_id, quantity=quantity)
    except SpectraValidationError:
        messages.error(request, _("We don't have that many in stock. Try a smaller quantity."))
    except SpectraNotFound:
        messages.error(request, _("That item is no longer in your cart."))
    except SpectraConflict:
        cart_service.cart_forget(request)
        messages.error(request, _("That cart was already ordered; start a new one."))
    except ProviderError:
        logger.exception("Could not change cart line %s", item_id)
        messages.error(request, provider_message())
    else:
        if cart is not None:
            messages.success(request, _("Item removed.") if quantity == 0 else _("Cart updated."))
    return redirect("checkout:cart")
