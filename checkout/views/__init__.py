"""The shopper's pages, one module per part: ``storefront`` (the demo catalog, optional),
``cart`` (the cart and ``cart-add`` for a merchant's own pages), ``steps`` (information,
shipping, payment), ``api`` (the JSON endpoints checkout.js calls), ``after_payment``
(pending, confirmation, order status), ``accounts`` (a customer's orders, the guest
order lookup) and ``common``.

Views only handle the session and HTTP: every decision (which step is reachable, what
is due, whether an order is placed) belongs to ``checkout.services``. Errors are
handled here from the most to the least specific: a ``ShopperError`` shows its own
message where the shopper can act on it, a ``ProviderError`` a generic one (and is
logged). The JSON endpoints (``pay``, ``place``) answer 4xx with ``{"reason": ...}``
on bad input, never a 500.

Every page and answer that carries a shopper's data is ``never_cache`` (``Cache-Control:
private, no-store``), and none is kept in a cache: what is rendered for one visitor,
including a host base template's per-user header, is never served to another. A
session reaches only the checkout attempt it owns (``cart.session_owner``).
"""

from checkout.views.accounts import customer_orders, order_lookup
from checkout.views.after_payment import checkout_confirmation, checkout_pending, order_status
from checkout.views.api import checkout_pay, checkout_place
from checkout.views.cart import cart_add, cart_detail, cart_remove, cart_update
from checkout.views.common import csrf_failure
from checkout.views.steps import (
    checkout_gift_card,
    checkout_information,
    checkout_payment,
    checkout_promo,
    checkout_shipping,
    checkout_start,
)
from checkout.views.storefront import product_detail, product_list

__all__ = [
    "cart_add",
    "cart_detail",
    "cart_remove",
    "cart_update",
    "checkout_confirmation",
    "checkout_gift_card",
    "checkout_information",
    "checkout_pay",
    "checkout_payment",
    "checkout_pending",
    "checkout_place",
    "checkout_promo",
    "checkout_shipping",
    "checkout_start",
    "csrf_failure",
    "customer_orders",
    "order_lookup",
    "order_status",
    "product_detail",
    "product_list",
]
