"""Test and live: which environment the configured key works in, and clearing test rows.

Spectra keeps test orders (``spk_test_`` keys) and live orders apart [doc], and their ids
may repeat across the two, so local orders are keyed by ``(is_test, spectra_id)``. After
going live, the sandbox-era (test) rows are dead weight: ``sandbox_orders_clear`` removes
them with what hangs off them (timeline, email ledger) and the attempts that placed them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction

from checkout.conf import app_settings
from checkout.models import CheckoutAttempt, EmailNotification, Order, OrderEvent

logger = logging.getLogger(__name__)


def spectra_environment_is_test() -> bool:
    """Whether the configured key is a test key: the orders it places are test orders."""
    return app_settings.SPECTRA_API_KEY.startswith("spk_test_")


@dataclass(frozen=True)
class ClearedTestOrders:
    orders: int
    attempts: int
    events: int
    emails: int


def sandbox_orders_clear(*, dry_run: bool) -> ClearedTestOrders:
    """Delete every local test order, its timeline and emails, and the attempts behind it.

    With ``dry_run`` only count them. Live rows are never touched.
    """
    orders = Order.objects.filter(is_test=True)
    attempt_ids = list(orders.exclude(attempt=None).values_list("attempt_id", flat=True))
    counts = ClearedTestOrders(
        orders=orders.count(),
        attempts=len(attempt_ids),
        events=OrderEvent.objects.filter(order__is_test=True).count()
        + OrderEvent.objects.filter(attempt_id__in=attempt_ids, order=None).count(),
        emails=EmailNotification.objects.filter(order__is_test=True).count(),
    )
    if dry_run:
        return counts
    with transaction.atomic():
        # Orders first: an attempt is protected while an order points at it.
        Order.objects.filter(is_test=True).delete()
        CheckoutAttempt.objects.filter(pk__in=attempt_ids).delete()
    logger.info("cleared %s test orders and %s attempts", counts.orders, counts.attempts)
    return counts
