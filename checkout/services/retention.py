"""Personal data the checkout no longer needs: found, counted and removed after retention.

Three kinds, each after its ``CHECKOUT_RETENTION_*_DAYS`` (None keeps them for good):

- **Abandoned attempts**: a checkout attempt that never became an order, still collecting
  details or failed, not updated for that long. One on which no payment was ever tried is
  deleted with its timeline. One with a PaymentIntent or SetupIntent keeps its row, ids,
  amounts and timeline (the record of money that was authorized or refused) and loses the
  shopper's email, phone, addresses, gift card and session.
- **Webhook bodies**: a webhook event handled (processed or ignored) that long ago keeps
  its row (type, order, outcome: the order's timeline shows it) and loses its raw body and
  headers, which carry the customer's name and address. Failed or unhandled events keep
  everything, since staff may still replay them.
- **Outbox rows** published that long ago are deleted (they hold only ids).

Nothing an order needs is touched: an attempt with an order, one paid or being placed,
one waiting for staff (needs review), orders themselves and their email ledger.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from checkout.conf import app_settings
from checkout.models import CheckoutAttempt, OutboxMessage, WebhookEvent

logger = logging.getLogger(__name__)

# Rows changed per transaction, so a first purge of a large table holds no long lock.
BATCH_SIZE = 500
# Attempts nobody is still paying for or placing, and no staff member has to look at.
ABANDONED_STATES = (CheckoutAttempt.State.COLLECTING, CheckoutAttempt.State.FAILED)
HANDLED_OUTCOMES = (WebhookEvent.Outcome.PROCESSED, WebhookEvent.Outcome.IGNORED)
PAYMENT_TRIED = ~Q(payment_intent_id="") | ~Q(setup_intent_id="")
# An anonymized attempt: the shopper's details gone, the record of the payment kept.
ANONYMIZED_ATTEMPT = {
    "email": "",
    "phone": "",
    "shipping_address": {},
    "billing_address": {},
    "gift_card_code": "",
    "owner": "",
}


@dataclass(frozen=True)
class PurgeResult:
    """How many rows were (or, on a dry run, would be) changed, per kind."""

    attempts_deleted: int = 0
    attempts_anonymized: int = 0
    webhook_bodies_removed: int = 0
    outbox_rows_deleted: int = 0

    @property
    def total(self) -> int:
        return (
            self.attempts_deleted
            + self.attempts_anonymized
            + self.webhook_bodies_removed
            + self.outbox_rows_deleted
        )


def _cutoff(now: dt.datetime, setting: str) -> dt.datetime | None:
    days = app_settings.retention_days(setting)
    return None if days is None else now - dt.timedelta(days=days)


def abandoned_attempts(*, now: dt.datetime) -> QuerySet[CheckoutAttempt]:
    """Attempts past retention that never became an order and nobody still needs."""
    cutoff = _cutoff(now, "ATTEMPT")
    if cutoff is None:
        return CheckoutAttempt.objects.none()
    return CheckoutAttempt.objects.filter(
        state__in=ABANDONED_STATES, updated_at__lt=cutoff, order__isnull=True
    )


def _not_yet_anonymized(attempts: QuerySet[CheckoutAttempt]) -> QuerySet[CheckoutAttempt]:
    return attempts.exclude(
        email="",
        phone="",
        shipping_address={},
        billing_address={},
        gift_card_code="",
        owner="",
    )


def handled_webhook_bodies(*, now: dt.datetime) -> QuerySet[WebhookEvent]:
    """Handled webhook events past retention whose body or headers are still stored."""
    cutoff = _cutoff(now, "WEBHOOK_BODY")
    if cutoff is None:
        return WebhookEvent.objects.none()
    return WebhookEvent.objects.filter(
        outcome__in=HANDLED_OUTCOMES, received_at__lt=cutoff
    ).exclude(raw_body="", headers={})


def published_outbox_rows(*, now: dt.datetime) -> QuerySet[OutboxMessage]:
    """Outbox rows published before retention."""
    cutoff = _cutoff(now, "OUTBOX")
    if cutoff is None:
        return OutboxMessage.objects.none()
    return OutboxMessage.objects.filter(published_at__lt=cutoff)


def _in_batches(queryset: QuerySet[Any], change: Callable[[QuerySet[Any]], object]) -> int:
    """Apply ``change`` to ``queryset`` batch by batch; return the number of rows changed.

    Each change takes its rows out of ``queryset`` (deleted, or no longer matching), so
    the loop ends.
    """
    done = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
            if not ids:
                return done
            change(queryset.model._default_manager.filter(pk__in=ids))
        done += len(ids)


def _delete(rows: QuerySet[Any]) -> object:
    return rows.delete()


def _anonymize(rows: QuerySet[Any]) -> object:
    return rows.update(**ANONYMIZED_ATTEMPT, updated_at=timezone.now())


def _blank_body(rows: QuerySet[Any]) -> object:
    return rows.update(raw_body="", headers={})


def personal_data_purge(*, now: dt.datetime | None = None, dry_run: bool = False) -> PurgeResult:
    """Delete or anonymize what is past its retention (counted only, on a dry run)."""
    now = now or timezone.now()
    attempts = abandoned_attempts(now=now)
    to_delete = attempts.exclude(PAYMENT_TRIED)
    to_anonymize = _not_yet_anonymized(attempts.filter(PAYMENT_TRIED))
    bodies = handled_webhook_bodies(now=now)
    outbox = published_outbox_rows(now=now)
    if dry_run:
        return PurgeResult(
            attempts_deleted=to_delete.count(),
            attempts_anonymized=to_anonymize.count(),
            webhook_bodies_removed=bodies.count(),
            outbox_rows_deleted=outbox.count(),
        )
    result = PurgeResult(
        attempts_deleted=_in_batches(to_delete, _delete),
        attempts_anonymized=_in_batches(to_anonymize, _anonymize),
        webhook_bodies_removed=_in_batches(bodies, _blank_body),
        outbox_rows_deleted=_in_batches(outbox, _delete),
    )
    if result.total:
        logger.info(
            "personal data purge: %d attempts deleted, %d anonymized, %d webhook bodies "
            "removed, %d outbox rows deleted",
            result.attempts_deleted,
            result.attempts_anonymized,
            result.webhook_bodies_removed,
            result.outbox_rows_deleted,
        )
    return result
