"""Convergence when webhooks are lost: reconciliation against the API, and the sweep.

``orders_reconcile`` first verifies the payment of every order whose capture is not
settled (``orders.order_payment_verify``: capture a hold left standing, flag one that is
gone), then polls ``GET /orders/{id}`` for local orders still open (cancelled and
refunded never; delivered until ``CHECKOUT_STOP_POLLING_FINAL_AFTER``), oldest-synced
first, and feeds each answer through ``order_apply_remote`` (the same path as webhooks),
so state and emails converge even if every webhook is lost. It spends no more than the
background budget allows (``services.budget``) and stops at the first 429, which pauses
background calls for its ``Retry-After``: the next pass resumes with the orders still
oldest-synced.

``checkout_sweep`` finishes what a broker outage or a killed worker left behind: it
re-publishes unconfirmed outbox rows, re-enqueues inbox events never processed, retries
emails stuck in ``queued``/``failed`` or in ``sending`` past their lease, and recovers
checkout attempts left in ``submitting`` or ``payment_authorized``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from checkout.conf import app_settings
from checkout.exceptions import SpectraError, SpectraRateLimited, SpectraRejection
from checkout.models import CheckoutAttempt, Order
from checkout.services import orders
from checkout.services.budget import (
    background_back_off,
    background_budget,
    background_calls_allowed,
    background_calls_spent,
)
from checkout.services.inbox import PROCESS_TASK, webhook_events_stuck
from checkout.services.notifications import EMAIL_SEND_TASK, emails_due_for_retry
from checkout.services.outbox import outbox_enqueue
from checkout.services.relay import outbox_kick_on_commit, outbox_relay
from checkout.services.spectra import get_spectra_client
from checkout.services.sync import FINAL, order_apply_remote

logger = logging.getLogger(__name__)

# A submitting attempt younger than this may still be inside its request.
ATTEMPT_GRACE = dt.timedelta(minutes=2)


@dataclass
class ReconcileResult:
    checked: int = 0
    changed: int = 0
    failed: int = 0
    remaining: int = 0
    rate_limited: bool = False
    retry_after: float | None = None
    errors: list[str] = field(default_factory=list)
    payments_captured: int = 0
    payments_failed: int = 0
    budget_left: int | None = None


def _not_final(*, now: dt.datetime | None = None) -> QuerySet[Order]:
    """Orders still worth polling: not cancelled or refunded, and not delivered long ago.

    A delivered order may still be refunded, so it is polled for
    ``CHECKOUT_STOP_POLLING_FINAL_AFTER`` seconds after its last change, then left alone.
    """
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=app_settings.STOP_POLLING_FINAL_AFTER)
    delivered_long_ago = Q(status="delivered") & (
        Q(spectra_updated_at__lt=cutoff) | Q(spectra_updated_at__isnull=True, placed_at__lt=cutoff)
    )
    return Order.objects.exclude(status__in=FINAL).exclude(delivered_long_ago)


def orders_to_reconcile(*, limit: int | None = None) -> list[int]:
    """Ids of local orders still polled, least recently synced first (``limit`` of them)."""
    ids = _not_final().order_by(F("last_synced_at").asc(nulls_first=True), "id")
    return list(ids.values_list("pk", flat=True)[:limit])


PAYMENT_CHECKS_PER_PASS = 50


def _verify_payments(result: ReconcileResult) -> None:
    """Capture (or flag) holds behind orders not yet verified; Stripe calls, not Spectra's."""
    for pk in orders.orders_to_verify(limit=PAYMENT_CHECKS_PER_PASS):
        order = Order.objects.get(pk=pk)
        try:
            state = orders.order_payment_verify(order=order)
        except Exception:
            logger.exception("reconcile: payment check of order %s failed", order.order_number)
            continue
        if state == Order.Capture.CAPTURED:
            result.payments_captured += 1
        elif state == Order.Capture.FAILED:
            result.payments_failed += 1


def orders_reconcile(
    *, limit: int | None = None, progress: Callable[[Order, str], None] | None = None
) -> ReconcileResult:
    """Verify payments, then poll Spectra for orders still open, within the call budget.

    At most ``limit`` (``CHECKOUT_RECONCILE_BATCH_SIZE``) orders, and no more than the
    background budget allows this pass (``services.budget``); a 429 pauses background calls.
    """
    result = ReconcileResult()
    _verify_payments(result)
    limit = background_calls_allowed(want=limit or app_settings.RECONCILE_BATCH_SIZE)
    status = background_budget()
    if status.backing_off:
        result.rate_limited = True
        result.remaining = _not_final().count()
        logger.info("reconcile: background calls paused until %s", status.backoff_until)
        return result
    if limit <= 0:
        result.remaining = _not_final().count()
        result.budget_left = 0
        logger.info("reconcile: background budget spent for this hour")
        return result
    # Only this pass's batch is read: a shop with 100,000 open orders must not load every
    # id every five minutes (the pass is one task in the same worker as the emails).
    pending = orders_to_reconcile(limit=limit)
    open_total = _not_final().count() if len(pending) == limit else len(pending)
    client = get_spectra_client()
    with client.observe(lambda _call: background_calls_spent(1)):
        for position, order_pk in enumerate(pending):
            order = Order.objects.get(pk=order_pk)
            try:
                remote = client.get_order(order.spectra_id)  # network: outside any transaction
            except SpectraRateLimited as exc:
                result.rate_limited = True
                result.retry_after = exc.retry_after
                result.remaining = open_total - position
                background_back_off(retry_after=exc.retry_after)
                logger.warning(
                    "reconcile: rate limited at order %s; %s left, retry after %s s",
                    order.order_number,
                    result.remaining,
                    exc.retry_after,
                )
                return result
            except SpectraRejection as exc:
                # 404 and friends: the order will not answer; note the try so the pass
                # moves on to others next time instead of asking again first.
                Order.objects.filter(pk=order.pk).update(last_synced_at=timezone.now())
                result.failed += 1
                result.errors.append(f"{order.order_number}: {exc}")
                logger.warning("reconcile: order %s refused: %s", order.order_number, exc)
                continue
            except SpectraError as exc:
                result.failed += 1
                result.errors.append(f"{order.order_number}: {exc}")
                logger.warning("reconcile: order %s failed: %s", order.order_number, exc)
                continue
            result.checked += 1
            before = order.status
            applied = order_apply_remote(remote=remote, source="reconcile")
            after = applied.status if applied else before
            if after != before:
                result.changed += 1
            if progress is not None:
                progress(order, f"{before} -> {after}" if after != before else after)
    result.remaining = max(0, open_total - limit)
    result.budget_left = background_budget().remaining
    return result


@dataclass
class SweepResult:
    outbox_published: int = 0
    events_requeued: int = 0
    emails_requeued: int = 0
    attempts_recovered: int = 0
    attempt_errors: int = 0


def attempts_to_recover(*, now: dt.datetime | None = None) -> list[int]:
    """Attempts paid (or being submitted) whose request ended without an outcome."""
    cutoff = (now or timezone.now()) - ATTEMPT_GRACE
    return list(
        CheckoutAttempt.objects.filter(
            state__in=[
                CheckoutAttempt.State.SUBMITTING,
                CheckoutAttempt.State.PAYMENT_AUTHORIZED,
            ],
            updated_at__lt=cutoff,
        )
        .order_by("updated_at")
        .values_list("pk", flat=True)[:100]
    )


def checkout_sweep(*, recover_attempts: bool = True) -> SweepResult:
    """Re-drive everything left behind; safe to run any time, on any number of machines."""
    result = SweepResult()
    event_ids = webhook_events_stuck()
    email_ids = emails_due_for_retry()
    with transaction.atomic():
        for pk in event_ids:
            outbox_enqueue(task_name=PROCESS_TASK, webhook_event_id=pk)
        for pk in email_ids:
            outbox_enqueue(task_name=EMAIL_SEND_TASK, notification_id=pk)
        if event_ids or email_ids:
            outbox_kick_on_commit()
    result.events_requeued = len(event_ids)
    result.emails_requeued = len(email_ids)
    result.outbox_published = outbox_relay(limit=500).published
    if recover_attempts and not background_budget().backing_off:
        client = get_spectra_client()
        # Recovery's lookups are background calls: counted against the budget. A paid
        # attempt never posted is placed even when the budget is spent (one POST, the
        # shopper's order); only a 429 stops that.
        with client.observe(lambda _call: background_calls_spent(1)):
            for pk in attempts_to_recover():
                attempt = CheckoutAttempt.objects.get(pk=pk)
                if (
                    attempt.state == CheckoutAttempt.State.SUBMITTING
                    and background_calls_allowed(want=1) == 0
                ):
                    # Looking an unknown outcome up can wait for the next hour's budget;
                    # its hold is kept meanwhile.
                    continue
                try:
                    orders.attempt_recover(attempt=attempt)
                    result.attempts_recovered += 1
                except SpectraRateLimited as exc:
                    background_back_off(retry_after=exc.retry_after)
                    break
                except Exception:
                    result.attempt_errors += 1
                    logger.exception("sweep: attempt %s recovery failed", attempt.public_id)
    if event_ids or email_ids:
        logger.info("sweep: %s events and %s emails re-enqueued", len(event_ids), len(email_ids))
    return result
