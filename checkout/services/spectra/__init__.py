"""The Spectra API client and its typed results.

Import from here: ``from checkout.services.spectra import get_spectra_client, Order``.
``client`` owns the HTTP side (session, retries, errors, cache, observers), ``protocol``
the pieces of a call it builds on (records, envelopes, parsers), ``shared`` the clients
every caller reuses, and ``results`` the frozen dataclasses the client returns.
"""

from .client import (
    MAX_PER_PAGE,
    MAX_RETRY_AFTER,
    CallObserver,
    CallRecord,
    SpectraClient,
    parse_retry_after,
)
from .results import (
    API_CURRENCY,
    FINAL_ORDER_STATUSES,
    ORDER_STATUSES,
    PAYMENT_STATUSES,
    Address,
    Cart,
    CartItem,
    Category,
    GiftCardBalance,
    Order,
    OrderItem,
    OrderStatus,
    Page,
    PaymentStatus,
    Product,
    PromoValidation,
    ShippingMethod,
    ShippingRate,
    TaxQuote,
    Variant,
    WebhookDelivery,
    WebhookSubscription,
)
from .shared import clear_spectra_clients, get_spectra_client

__all__ = [
    "API_CURRENCY",
    "FINAL_ORDER_STATUSES",
    "MAX_PER_PAGE",
    "MAX_RETRY_AFTER",
    "ORDER_STATUSES",
    "PAYMENT_STATUSES",
    "Address",
    "CallObserver",
    "CallRecord",
    "Cart",
    "CartItem",
    "Category",
    "GiftCardBalance",
    "Order",
    "OrderItem",
    "OrderStatus",
    "Page",
    "PaymentStatus",
    "Product",
    "PromoValidation",
    "ShippingMethod",
    "ShippingRate",
    "SpectraClient",
    "TaxQuote",
    "Variant",
    "WebhookDelivery",
    "WebhookSubscription",
    "clear_spectra_clients",
    "get_spectra_client",
    "parse_retry_after",
]
