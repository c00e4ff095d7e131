"""The shopper's cart: its id lives in the session, the cart itself in Spectra.

A merchant's own product pages add to it with ``cart_add`` (by Spectra variant id or
SKU; ``checkout.cart.add`` is the public name). A merchant whose own code builds the cart
through the API hands it over with ``cart_attach(request, cart_id)``; from then on the
checkout pages use that cart.
The session also keeps the cart's item count so the header can show it without an
API call on every page, and a random owner token that binds checkout attempts to this
session (``session_owner``): attempts store only a keyed hash of it, never the session key,
so nothing the app stores or shows can be replayed as someone's session cookie, and the
binding survives the session-key rotation Django does at login. Session values are only
set when they change, so a page view that changes nothing does not rewrite the session.
Every change to the cart's lines calls ``quotes.cart_changed`` so no cached quote
outlives it.
"""

from __future__ import annotations

import logging
import secrets

from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from checkout.exceptions import (
    CartAddError,
    SpectraConflict,
    SpectraNotFound,
    SpectraValidationError,
)
from checkout.services.quotes import cart_changed
from checkout.services.spectra import Cart, Variant, get_spectra_client

logger = logging.getLogger(__name__)

SESSION_CART_ID = "checkout_cart_id"
SESSION_CART_COUNT = "checkout_cart_count"
SESSION_OWNER = "checkout_owner"
# The most of one variant a single add may ask for (the cart page allows up to 99 a line).
MAX_ADD_QUANTITY = 99
_OWNER_SALT = "checkout.attempt-owner"


def _set(request: HttpRequest, key: str, value: object) -> None:
    if request.session.get(key) != value:  # setting an equal value still saves the session
        request.session[key] = value


def _remember(request: HttpRequest, cart: Cart, *, changed: bool = False) -> Cart:
    _set(request, SESSION_CART_ID, cart.id)
    _set(request, SESSION_CART_COUNT, cart.item_count)
    if changed:
        cart_changed(cart_id=cart.id)
    return cart


def session_owner(request: HttpRequest) -> str:
    """Return this session's owner hash for checkout attempts, creating its token once.

    The token is random and lives only in the session; what attempts store is its HMAC
    under the site's ``SECRET_KEY``, which cannot be turned back into the token.
    """
    token = request.session.get(SESSION_OWNER)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_OWNER] = token
    return owner_hash(token)


def owner_hash(token: str) -> str:
    """Return the keyed hash of an owner token (what ``CheckoutAttempt.owner`` holds)."""
    return salted_hmac(_OWNER_SALT, token, algorithm="sha256").hexdigest()


def cart_count_seen(request: HttpRequest, count: int) -> None:
    """Keep the item count last seen for the session's cart (for the header)."""
    _set(request, SESSION_CART_COUNT, count)


def cart_attach(request: HttpRequest, cart_id: str) -> Cart:
    """Make ``cart_id`` (a Spectra cart built elsewhere) this session's cart.

    Raises ``SpectraNotFound`` if the API does not know the cart.
    """
    cart = get_spectra_client().get_cart(cart_id)
    logger.info("Cart %s attached to a session", cart.id)
    return _remember(request, cart, changed=True)


def cart_id_from_session(request: HttpRequest) -> str | None:
    """Return the session's cart id, or None."""
    value = request.session.get(SESSION_CART_ID)
    return str(value) if value else None


def cart_count_from_session(request: HttpRequest) -> int:
    """Return the item count last seen for the session's cart (no API call)."""
    return int(request.session.get(SESSION_CART_COUNT) or 0)


def cart_get(request: HttpRequest) -> Cart | None:
    """Return the session's cart from the API, or None when there is none (any more)."""
    cart_id = cart_id_from_session(request)
    if not cart_id:
        return None
    try:
        cart = get_spectra_client().get_cart(cart_id)
    except SpectraNotFound:
        cart_forget(request)
        return None
    if cart.locked:
        # An order was placed from it: the shopper starts a new cart next time.
        cart_forget(request)
        return None
    return _remember(request, cart)


def cart_get_or_create(request: HttpRequest) -> Cart:
    """Return the session's cart, creating an empty one in Spectra if needed."""
    cart = cart_get(request)
    if cart is None:
        cart = get_spectra_client().create_cart()
        logger.info("Cart %s created", cart.id)
    return _remember(request, cart)


def cart_add_item(request: HttpRequest, *, variant_id: int, quantity: int) -> Cart:
    """Add a variant to the session's cart (creating the cart if needed)."""
    cart = cart_get_or_create(request)
    existing = next((i for i in cart.items if i.variant_id == variant_id), None)
    client = get_spectra_client()
    if existing is not None:
        cart = client.update_cart_item(cart.id, existing.id, quantity=existing.quantity + quantity)
    else:
        cart = client.add_cart_item(cart.id, variant_id=variant_id, quantity=quantity)
    return _remember(request, cart, changed=True)


def variant_by_sku(*, sku: str) -> Variant | None:
    """Return the catalog's variant with this SKU, or None.

    The API has no lookup by SKU, so this walks the catalog; its pages come from the
    catalog cache (``CHECKOUT_CATALOG_CACHE_TTL``), so a warm cache costs no API call.
    """
    wanted = sku.strip()
    if not wanted:
        return None
    for product in get_spectra_client().iter_products():
        for variant in product.variants:
            if variant.sku == wanted:
                return variant
    return None


def cart_add(
    request: HttpRequest,
    *,
    variant_id: int | None = None,
    sku: str | None = None,
    quantity: int = 1,
) -> Cart:
    """Add ``quantity`` of a variant, named by its Spectra id or its SKU, to the session's cart.

    Raises ``CartAddError`` (shopper-safe message; ``code`` ``unknown_product`` or
    ``insufficient_stock``), ``ProviderError`` when Spectra cannot be reached, and
    ``ValueError`` for a call that names no variant, both, or a quantity out of range.
    """
    if (variant_id is None) == (not sku):
        raise ValueError("Give exactly one of variant_id and sku.")
    if not 1 <= quantity <= MAX_ADD_QUANTITY:
        raise ValueError(f"quantity must be between 1 and {MAX_ADD_QUANTITY}.")
    if sku:
        variant = variant_by_sku(sku=sku)
        if variant is None:
            raise CartAddError(_("We don't sell that product."), code="unknown_product")
        variant_id = variant.id
    assert variant_id is not None
    try:
        try:
            return cart_add_item(request, variant_id=variant_id, quantity=quantity)
        except SpectraConflict:
            # The session's cart was ordered meanwhile (another tab): start a new one.
            cart_forget(request)
            return cart_add_item(request, variant_id=variant_id, quantity=quantity)
    except SpectraValidationError as err:
        if "variant_id" in err.fields:
            raise CartAddError(_("We don't sell that product."), code="unknown_product") from err
        raise CartAddError(
            _("We don't have that many in stock. Try a smaller quantity."),
            code="insufficient_stock",
        ) from err


def cart_update_item(request: HttpRequest, *, item_id: str, quantity: int) -> Cart | None:
    """Set a line's quantity (0 removes it); None when the session has no cart."""
    cart_id = cart_id_from_session(request)
    if not cart_id:
        return None
    client = get_spectra_client()
    if quantity <= 0:
        cart = client.remove_cart_item(cart_id, item_id)
    else:
        cart = client.update_cart_item(cart_id, item_id, quantity=quantity)
    return _remember(request, cart, changed=True)


def cart_remove_item(request: HttpRequest, *, item_id: str) -> Cart | None:
    """Remove a line; None when the session has no cart."""
    return cart_update_item(request, item_id=item_id, quantity=0)


def cart_forget(request: HttpRequest) -> None:
    """Drop the cart from the session (after its order was placed)."""
    request.session.pop(SESSION_CART_ID, None)
    request.session.pop(SESSION_CART_COUNT, None)
