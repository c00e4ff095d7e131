"""The outbox relay: publish ``OutboxMessage`` rows to Celery, at least once.

Rows are written in the same transaction as the change they follow (``outbox_enqueue``).
The relay claims a batch (a short lease in ``available_at``, ``SKIP LOCKED`` so relays on
several machines never publish the same row at once), publishes each row outside any
transaction and marks it published. A relay that dies between claim and mark leaves the
row unconfirmed: it is published again once the lease runs out. Tasks are idempotent, so
a second publish is harmless; a lost one is not, which is why we prefer the duplicate.

It runs from Celery beat twice a second and after each task that wrote outbox rows, never in
a web request: a broker outage must not fail or slow a request.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from celery import current_app
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from checkout.models import OutboxMessage

logger = logging.getLogger(__name__)

CLAIM_LEASE = dt.timedelta(seconds=30)
RETRY_AFTER_FAILURE = dt.timedelta(seconds=5)


@dataclass(frozen=True)
class RelayResult:
    published: int
    failed: int


def _publish(message: OutboxMessage) -> None:
    task = current_app.tasks.get(message.task_name)
    if task is not None:
        # apply_async honours CELERY_TASK_ALWAYS_EAGER (the zero-setup demo).
        # retry=False: fail fast when the broker is down; the row stays for later.
        task.apply_async(kwargs=message.kwargs, retry=False)
    else:
        current_app.send_task(message.task_name, kwargs=message.kwargs, retry=False)


def outbox_relay(*, limit: int = 100) -> RelayResult:
    """Publish due outbox rows; stop at the first broker failure (the rest wait)."""
    now = timezone.now()
    with transaction.atomic():
        batch = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(published_at__isnull=True)
            .filter(Q(available_at__isnull=True) | Q(available_at__lte=now))
            .order_by("id")[:limit]
        )
        ids = [m.pk for m in batch]
        OutboxMessage.objects.filter(pk__in=ids).update(
            available_at=now + CLAIM_LEASE, publish_attempts=F("publish_attempts") + 1
        )
    published = failed = 0
    for position, message in enumerate(batch):
        try:
            _publish(message)
        except Exception as exc:
            failed = len(batch) - position
            OutboxMessage.objects.filter(pk__in=ids[position:]).update(
                available_at=timezone.now() + RETRY_AFTER_FAILURE
            )
            OutboxMessage.objects.filter(pk=message.pk).update(
                last_error=f"{type(exc).__name__}: {exc}"[:2000]
            )
            logger.warning(
                "outbox %s: publish of %s failed (%s); %s rows wait",
                message.pk,
                message.task_name,
                type(exc).__name__,
                failed,
            )
            break
        OutboxMessage.objects.filter(pk=message.pk).update(
            published_at=timezone.now(), last_error=""
        )
        published += 1
    if batch:
        logger.info("outbox relay: %s published, %s waiting", published, failed)
    return RelayResult(published=published, failed=failed)


def outbox_pending_count() -> int:
    """How many rows wait to be published."""
    return OutboxMessage.objects.filter(published_at__isnull=True).count()


def outbox_kick_on_commit() -> None:
    """In eager mode (no broker: the zero-setup demo), relay right after the commit.

    With a broker this does nothing: beat and the workers run the relay, so a request
    never waits on the broker.
    """
    if not current_app.conf.task_always_eager:
        return

    def kick() -> None:
        try:
            outbox_relay()
        except Exception:
            logger.exception("outbox relay (eager) failed; the sweep will retry")

    transaction.on_commit(kick)
