"""Signed links a shopper can keep: the guest order-status page.

The token is ``django.core.signing`` over the order's primary key with a salt of its
own, so it cannot be guessed, cannot be reused for another purpose, and expires after
``CHECKOUT_STATUS_TOKEN_MAX_AGE`` seconds. Emails use ``order_status_url`` (a path;
``notifications`` prefixes ``CHECKOUT_SITE_URL``).
"""

from __future__ import annotations

from django.core import signing
from django.urls import reverse

from checkout.conf import app_settings
from checkout.models import Order

STATUS_LINK_SALT = "checkout.order-status"


def order_status_token(order: Order) -> str:
    """Return the signed, timestamped token naming ``order``."""
    return signing.dumps({"o": order.pk}, salt=STATUS_LINK_SALT, compress=True)


def order_pk_from_status_token(token: str) -> int | None:
    """Return the primary key a valid, unexpired token names, else None."""
    try:
        data = signing.loads(
            token, salt=STATUS_LINK_SALT, max_age=app_settings.STATUS_TOKEN_MAX_AGE
        )
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("o"), int):
        return None
    return int(data["o"])


def order_from_status_token(token: str) -> Order | None:
    """Return the order a valid, unexpired token names, else None."""
    pk = order_pk_from_status_token(token)
    if pk is None:
        return None
    # The API's full answer (``raw``) is for staff; the page never shows it.
    try:
        return Order.objects.defer("raw").get(pk=pk)
    except Order.DoesNotExist:
        return None


def order_status_url(order: Order) -> str:
    """Return the path of ``order``'s signed status page."""
    return reverse("checkout:order-status", kwargs={"token": order_status_token(order)})
