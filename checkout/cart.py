"""The cart API for a merchant's own code: put products into the checkout's cart.

``add`` puts a variant (by Spectra id or SKU) into the visitor's cart, creating the cart
if needed; ``attach`` hands over a cart the merchant built through the Spectra API
themselves; ``count`` is the item count for a header badge (no API call). After either,
send the shopper to ``{% url 'checkout:cart' %}`` or ``checkout:checkout-start``.

These names are the documented, stable surface (docs/install.md); the implementation
lives in ``checkout.services.cart``.
"""

from __future__ import annotations

from django.http import HttpRequest

from checkout.services.cart import cart_add, cart_attach, cart_count_from_session
from checkout.services.spectra import Cart

__all__ = ["add", "attach", "count"]


def add(
    request: HttpRequest,
    *,
    variant_id: int | None = None,
    sku: str | None = None,
    quantity: int = 1,
) -> Cart:
    """Add ``quantity`` of one variant, named by ``variant_id`` or ``sku``, to the cart.

    Raises ``checkout.exceptions.CartAddError`` for an unknown product or too little stock
    (its message can be shown to the shopper), ``checkout.exceptions.ProviderError`` when
    Spectra cannot be reached, ``ValueError`` when the call names no variant or both.
    """
    return cart_add(request, variant_id=variant_id, sku=sku, quantity=quantity)


def attach(request: HttpRequest, cart_id: str) -> Cart:
    """Make the Spectra cart ``cart_id`` (built through the API) this visitor's cart.

    Raises ``checkout.exceptions.SpectraNotFound`` if Spectra does not know the cart.
    """
    return cart_attach(request, cart_id)


def count(request: HttpRequest) -> int:
    """Return the number of items in the visitor's cart as last seen (no API call)."""
    return cart_count_from_session(request)
