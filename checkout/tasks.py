"""Thin Celery tasks: take ids, call one service. The retry policy lives here.

Delivery is at least once (``acks_late``, ``reject_on_worker_lost``, set on each task
here so a host site's own Celery settings need not change), so every task is idempotent:
the services lock their row and skip work already done. Retries are bounded, with
exponential backoff and jitter.

Services are imported inside the tasks so this module imports without Django being set
up: the Celery app file can import ``CHECKOUT_BEAT_SCHEDULE`` from here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from celery import shared_task

# At least once: a task is acknowledged after it ran, and requeued if its worker dies.
DELIVERY: dict[str, Any] = {"acks_late": True, "reject_on_worker_lost": True}

RETRY_POLICY: dict[str, Any] = {
    **DELIVERY,
    "autoretry_for": (Exception,),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}

# Wire into the Celery app: ``app.conf.beat_schedule = {**CHECKOUT_BEAT_SCHEDULE}``
# (config/celery_app.py does). Run exactly one beat process.
CHECKOUT_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "checkout-outbox-relay": {
        "task": "checkout.tasks.outbox_relay",
        # Twice a second: rows written by web requests wait for this tick (0.25 s on
        # average), and a busy second's rows go out in two smaller bursts.
        "schedule": 0.5,
        "options": {"expires": 10},
    },
    "checkout-sweep": {
        "task": "checkout.tasks.checkout_sweep",
        "schedule": 60.0,
        "options": {"expires": 120},
    },
    "checkout-reconcile": {
        "task": "checkout.tasks.orders_reconcile",
        "schedule": 300.0,
        "options": {"expires": 600},
    },
    "checkout-personal-data-purge": {
        "task": "checkout.tasks.personal_data_purge",
        "schedule": 24 * 60 * 60.0,
        "options": {"expires": 60 * 60},
    },
}


RELAY_TASK = "checkout.tasks.outbox_relay"


class QuietRelayLog(logging.Filter):
    """Keep Celery's INFO lines about the twice-a-second outbox relay out of the log.

    Beat's "Sending due task", the worker's "received" and "succeeded ...: 0" would be six
    lines a second at ``-l info`` and bury everything else; a relay that published rows
    ("succeeded ...: 3"), any warning or error, and everything at ``-l debug`` still shows.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or not _about_relay(record):
            return True
        args = record.args
        if isinstance(args, Mapping) and str(args.get("return_value", "0")) not in ("0", "None"):
            return True
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def _about_relay(record: logging.LogRecord) -> bool:
    args = record.args
    if isinstance(args, Mapping):
        return args.get("name") == RELAY_TASK
    return isinstance(args, tuple) and RELAY_TASK in args


QUIET_RELAY_LOG = QuietRelayLog()
# Celery's loggers for beat's sends, the worker's receipts and task results. This module is
# imported wherever they log (the worker imports its tasks, beat the schedule above) and
# before the pool forks, so every process has the filter; addFilter ignores a second add.
for _name in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
    logging.getLogger(_name).addFilter(QUIET_RELAY_LOG)


def _relay() -> None:
    # Publish what the service just wrote to the outbox (we are in a worker: talking to
    # the broker here is fine). Anything left is picked up by beat's relay.
    from checkout.services.relay import outbox_relay

    outbox_relay()


@shared_task(name="checkout.tasks.webhook_event_process", **RETRY_POLICY)
def webhook_event_process(webhook_event_id: int, force: bool = False) -> str:
    """Apply one stored webhook event."""
    from checkout.services.inbox import webhook_event_process as process

    outcome = process(webhook_event_id=webhook_event_id, force=force)
    _relay()
    return outcome


@shared_task(bind=True, name="checkout.tasks.email_send", **RETRY_POLICY)
def email_send(self: Any, notification_id: int) -> bool:
    """Send one ledger row (once); gives up into ``failed`` after the last retry."""
    from checkout.services import notifications

    try:
        return notifications.email_send(notification_id=notification_id) is not None
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            notifications.email_mark_failed(
                notification_id=notification_id, error=f"{type(exc).__name__}: {exc}"
            )
        raise


@shared_task(name="checkout.tasks.order_lookup_email", ignore_result=True, **RETRY_POLICY)
def order_lookup_email(email: str, order_number: str) -> bool:
    """Email an order's status link to a guest who looked it up, if the details match."""
    from checkout.services.accounts import order_lookup_email_send

    return order_lookup_email_send(email=email, order_number=order_number)


@shared_task(name="checkout.tasks.outbox_relay", ignore_result=True, **DELIVERY)
def outbox_relay() -> int:
    """Publish due outbox rows (beat, twice a second)."""
    from checkout.services.relay import outbox_relay as relay

    return relay().published


@shared_task(name="checkout.tasks.checkout_sweep", ignore_result=True, **DELIVERY)
def checkout_sweep() -> dict[str, int]:
    """Re-drive events, emails, outbox rows and attempts left behind."""
    from checkout.services.reconcile import checkout_sweep as sweep

    result = sweep()
    return dict(vars(result))


@shared_task(name="checkout.tasks.orders_reconcile", ignore_result=True, **DELIVERY)
def orders_reconcile() -> dict[str, Any]:
    """One reconciliation pass; a 429 ends it early and the next scheduled pass resumes."""
    from checkout.services.reconcile import orders_reconcile as reconcile

    result = reconcile()
    _relay()
    return {
        "checked": result.checked,
        "changed": result.changed,
        "failed": result.failed,
        "remaining": result.remaining,
        "rate_limited": result.rate_limited,
        "payments_captured": result.payments_captured,
        "payments_failed": result.payments_failed,
        "budget_left": result.budget_left,
    }


@shared_task(name="checkout.tasks.personal_data_purge", ignore_result=True)
def personal_data_purge() -> dict[str, int]:
    """Remove personal data past its retention (beat, daily; ``checkout_purge`` by hand)."""
    from dataclasses import asdict

    from checkout.services.retention import personal_data_purge as purge

    return asdict(purge())
