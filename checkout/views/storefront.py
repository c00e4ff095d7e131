"""The demo storefront: the catalog and a product with its variant choice.

Optional (``checkout.urls_storefront``): a merchant whose own site sells the products
leaves it out and posts to ``checkout:cart-add`` from their pages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from checkout.csp import checkout_csp
from checkout.exceptions import (
    ProviderError,
    SpectraConflict,
    SpectraNotFound,
    SpectraValidationError,
)
from checkout.forms import AddToCartForm, variant_attribute_names
from checkout.services import cart as cart_service
from checkout.services.spectra import Product, Variant, get_spectra_client
from checkout.views.common import checkout_configured, provider_message

logger = logging.getLogger(__name__)


PRODUCTS_PER_PAGE = 12


@checkout_csp
@require_GET
@checkout_configured
def product_list(request: HttpRequest) -> HttpResponse:
    """Show the catalog, a page at a time."""
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    try:
        page = get_spectra_client().list_products(page=number, per_page=PRODUCTS_PER_PAGE)
    except ProviderError:
        logger.exception("Could not load the catalog")
        return render(
            request,
            "checkout/product_list.html",
            {"products": [], "catalog_error": provider_message()},
            status=503,
        )
    cards = [_product_card(p) for p in page.items]
    return render(
        request,
        "checkout/product_list.html",
        {
            "products": cards,
            "page": page,
            "previous_page": page.page - 1 if page.page > 1 else None,
            "next_page": page.page + 1 if page.has_next else None,
        },
    )


def _product_card(product: Product) -> dict[str, Any]:
    in_stock = [v for v in product.variants if v.in_stock]
    shown = in_stock or list(product.variants)
    cheapest = min(shown, key=lambda v: v.price) if shown else None
    return {
        "product": product,
        "price": cheapest.price if cheapest else None,
        "compare_at_price": cheapest.compare_at_price if cheapest else None,
        "image_url": next((v.image_url for v in product.variants if v.image_url), ""),
        "in_stock": bool(in_stock),
        "several_prices": len({v.price for v in shown}) > 1,
    }


@checkout_csp
@require_http_methods(["GET", "POST"])
@checkout_configured
def product_detail(request: HttpRequest, product_id: int) -> HttpResponse:
    """Show a product with its variant choice; POST adds the chosen variant to the cart."""
    try:
        product = get_spectra_client().get_product(product_id)
    except SpectraNotFound as err:
        raise Http404(_("No such product.")) from err
    status = 200
    if request.method == "POST":
        form = AddToCartForm(request.POST, product=product)
        if form.is_valid() and form.variant is not None:
            try:
                cart_service.cart_add_item(
                    request, variant_id=form.variant.id, quantity=form.cleaned_data["quantity"]
                )
            except SpectraValidationError:
                form.add_error(
                    "quantity", _("We don't have that many in stock. Try a smaller quantity.")
                )
            except SpectraConflict:
                cart_service.cart_forget(request)
                form.add_error(None, _("Your previous cart was already ordered. Try again."))
            except ProviderError:
                logger.exception("Could not add variant %s to the cart", form.variant.id)
                form.add_error(None, provider_message())
            else:
                messages.success(
                    request, _("%(name)s was added to your cart.") % {"name": product.name}
                )
                return redirect("checkout:cart")
        status = 400
    else:
        form = AddToCartForm(product=product, initial=_initial_variant_choice(request, product))
    variants = [
        {
            "id": v.id,
            "sku": v.sku,
            "attributes": {k: str(val or "") for k, val in v.attributes.items()},
            "price": str(v.price),
            "compare_at_price": str(v.compare_at_price) if v.compare_at_price else "",
            "in_stock": v.in_stock,
            "quantity_available": v.quantity_available,
            "image_url": v.image_url,
        }
        for v in product.variants
    ]
    selected = form.variant or _variant_from_initial(product, form.initial)
    # The picture shows the chosen variant (its color); the page's script follows a change.
    image_url = (selected.image_url if selected else "") or next(
        (v.image_url for v in product.variants if v.image_url), ""
    )
    return render(
        request,
        "checkout/product_detail.html",
        {
            "product": product,
            "form": form,
            "variants_json": variants,
            "selected": selected,
            "attribute_names": variant_attribute_names(product.variants),
            "image_url": image_url,
            "variant_labels": {
                "in_stock": _("In stock"),
                "low_stock": _("Only %(n)s left"),
                "sold_out": _("Sold out"),
                "add": _("Add to cart"),
                "unavailable": _("Unavailable"),
            },
        },
        status=status,
    )


def _initial_variant_choice(request: HttpRequest, product: Product) -> dict[str, Any]:
    variant = None
    try:
        variant = product.get_variant(int(request.GET.get("variant", "")))
    except ValueError:
        variant = None
    if variant is None:
        variant = next((v for v in product.variants if v.in_stock), None) or (
            product.variants[0] if product.variants else None
        )
    if variant is None:
        return {"quantity": 1}
    initial: dict[str, Any] = {f"attr_{k}": str(v) for k, v in variant.attributes.items() if v}
    initial["quantity"] = 1
    return initial


def _variant_from_initial(product: Product, initial: Mapping[str, Any]) -> Variant | None:
    chosen = {k[5:]: v for k, v in initial.items() if k.startswith("attr_")}
    for variant in product.variants:
        if all(str(variant.attributes.get(k) or "") == v for k, v in chosen.items()):
            return variant
    return None
