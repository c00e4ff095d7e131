"""Bring a local ``Order`` in line with what Spectra says, forward only.

One entry point for every source of truth (webhook, reconciliation, staff re-sync):
``order_apply_remote``. The status machine:

    pending < processing < shipped < delivered        (forward moves only; skips allowed)
    pending | processing | shipped  -> cancelled      (final)
    any non-final status            -> refunded       (final; delivered -> refunded)

A cancelled or refunded order never moves again. A remote status behind or equal to the
local one is stale or a duplicate: it changes nothing and is written to the timeline as
ignored. Each forward move records an ``OrderEvent``, schedules the email of the new
status (send-once ledger) and sends ``order_status_changed`` after the commit.

What is applied is either a full order (an API answer) or an ``OrderHint``: what a
webhook's ``data`` says when it is partial, as the docs' own examples are (a status, maybe
tracking; no totals). Orders are keyed by environment and id: a payload that does not
say ``is_test`` belongs to the configured key's environment.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from checkout.conf import app_settings, money
from checkout.models import Order, OrderEvent, WebhookEvent
from checkout.services import orders
from checkout.services.environments import spectra_environment_is_test
from checkout.services.notifications import EMAIL_FOR_STATUS, email_schedule
from checkout.services.spectra import Order as RemoteOrder
from checkout.services.spectra import get_spectra_client
from checkout.services.spectra.results import ResponseFormatError, parse_datetime
from checkout.signals import order_status_changed
from checkout.timeline_text import choice, note

logger = logging.getLogger(__name__)

FORWARD = ("pending", "processing", "shipped", "delivered")
FINAL = ("cancelled", "refunded")
CANCELLABLE_FROM = ("pending", "processing", "shipped")
# The status an event's name implies when its data has none (the docs' order.delivered
# example carries no status). order.created and order.status_changed imply nothing sure.
STATUS_FOR_EVENT = {
    "order.shipped": "shipped",
    "order.delivered": "delivered",
    "order.cancelled": "cancelled",
}


@dataclass(frozen=True)
class OrderHint:
    """What a partial webhook says about an order: enough to move it, never to record it."""

    id: int
    is_test: bool
    status: str
    order_number: str = ""
    payment_status: str = ""
    tracking_number: str = ""
    shipping_carrier: str = ""
    grand_total: Decimal | None = None
    updated_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_event(cls, event: str, data: Mapping[str, Any]) -> OrderHint | None:
        """The hint in ``data``; None when it names no order or no status can be known."""
        raw_id = data.get("id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, int):
            return None
        status = data.get("status")
        if not isinstance(status, str) or not status:
            status = STATUS_FOR_EVENT.get(event)
        if status is None:
            return None
        is_test = data.get("is_test")
        total = data.get("grand_total")
        try:
            updated_at = parse_datetime(data.get("updated_at"))
            grand_total = None if total is None else money(total)
        except (ResponseFormatError, ArithmeticError, TypeError, ValueError):
            return None
        return cls(
            id=raw_id,
            is_test=is_test if isinstance(is_test, bool) else spectra_environment_is_test(),
            status=status,
            order_number=str(data.get("order_number") or ""),
            payment_status=str(data.get("payment_status") or ""),
            tracking_number=str(data.get("tracking_number") or ""),
            shipping_carrier=str(data.get("shipping_carrier") or ""),
            grand_total=grand_total,
            updated_at=updated_at,
            raw=data,
        )


def order_find_local(*, spectra_id: int, is_test: bool) -> Order | None:
    """The local order for a Spectra id in one environment, or None."""
    return Order.objects.filter(spectra_id=spectra_id, is_test=is_test).first()


def status_move_allowed(old: str, new: str) -> bool:
    """Return whether the forward-only machine lets ``old`` become ``new``."""
    if old == new or old in FINAL:
        return False
    if new == "refunded":
        return True
    if new == "cancelled":
        return old in CANCELLABLE_FROM or old not in FORWARD
    if new in FORWARD:
        if old not in FORWARD:
            return True  # an unknown local value: trust a documented status
        return FORWARD.index(new) > FORWARD.index(old)
    return False  # an undocumented remote status never moves the order


def _source_label(source: str, webhook_event: WebhookEvent | None) -> str:
    if webhook_event is not None:
        return f"{source} {webhook_event.event_type}"
    return source


def _adopt(remote: RemoteOrder) -> Order | None:
    """Record an order placed elsewhere (``CHECKOUT_ADOPT_UNKNOWN_ORDERS``)."""
    order, _created = orders.order_record(remote=remote, attempt=None)
    return order


def order_apply_remote(
    *,
    remote: RemoteOrder | OrderHint,
    source: str,
    webhook_event: WebhookEvent | None = None,
    actor: Any = None,
) -> Order | None:
    """Apply ``remote`` to the local order; None when the order is unknown and not adopted.

    A hint never adopts an order: recording one needs the full order (``GET``) first.
    """
    actor = actor if getattr(actor, "pk", None) else None
    if (
        source != "staff"
        and not isinstance(remote, OrderHint)
        and not Order.objects.filter(spectra_id=remote.id, is_test=remote.is_test).exists()
    ):
        # Maybe the order a checkout is waiting on (its POST /orders answer was lost):
        # recorded for that attempt now; the status below then applies as to any order.
        # A hint cannot be matched to an attempt (no email, total or items); the worker
        # reads the full order first when it would adopt one.
        orders.attempt_adopt_order(remote=remote)
    label = _source_label(source, webhook_event)
    event_data: dict[str, Any] = {"source": source, "remote_status": remote.status}
    if webhook_event is not None:
        event_data["webhook_event_id"] = webhook_event.pk
    with transaction.atomic():
        order = (
            Order.objects.select_for_update()
            .filter(spectra_id=remote.id, is_test=remote.is_test)
            .first()
        )
        if order is None:
            if not app_settings.ADOPT_UNKNOWN_ORDERS or isinstance(remote, OrderHint):
                logger.info(
                    "order %s (%s): unknown here, %s ignored", remote.order_number, remote.id, label
                )
                return None
            order = _adopt(remote)  # a full order here: hints returned above
            if order is None:
                return None
            order = Order.objects.select_for_update().get(pk=order.pk)
            OrderEvent.objects.create(
                order=order,
                kind=OrderEvent.Kind.SYNC,
                **note(
                    gettext_noop("Order placed elsewhere adopted from %(source)s."), source=label
                ).fields(),
                data=event_data,
                actor=actor,
            )

        old = order.status
        now = timezone.now()
        fresh = (
            order.spectra_updated_at is None
            or remote.updated_at is None
            or (remote.updated_at >= order.spectra_updated_at)
        )
        moved = status_move_allowed(old, remote.status)
        changed: list[str] = ["last_synced_at"]
        order.last_synced_at = now

        if moved or (fresh and remote.status == old):
            # Details (tracking, payment status, totals) follow a forward move or a newer
            # snapshot of the same status, never a stale one.
            for field, value in (
                ("payment_status", remote.payment_status),
                ("tracking_number", remote.tracking_number),
                ("shipping_carrier", remote.shipping_carrier),
            ):
                if value and getattr(order, field) != value:
                    setattr(order, field, value)
                    changed.append(field)
            if remote.grand_total is not None and money(order.grand_total) != remote.grand_total:
                order.grand_total = remote.grand_total
                changed.append("grand_total")
            if remote.updated_at is not None:
                order.spectra_updated_at = remote.updated_at
                changed.append("spectra_updated_at")
            # A hint adds to the last full answer; it never replaces it with less.
            if isinstance(remote, OrderHint):
                order.raw = {**dict(order.raw), **dict(remote.raw), "status": remote.status}
            else:
                order.raw = dict(remote.raw)
            changed.append("raw")

        if moved:
            order.status = remote.status
            changed.append("status")
            order.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
            OrderEvent.objects.create(
                order=order,
                kind=OrderEvent.Kind.STATUS,
                **note(
                    gettext_noop("Status changed from %(old)s to %(new)s (%(source)s)."),
                    old=choice(Order.Status, old),
                    new=choice(Order.Status, remote.status),
                    source=label,
                ).fields(),
                data={
                    **event_data,
                    "old_status": old,
                    "new_status": remote.status,
                    "tracking_number": order.tracking_number,
                    "carrier": order.shipping_carrier,
                },
                actor=actor,
            )
            kind = EMAIL_FOR_STATUS.get(remote.status)
            if kind:
                email_schedule(order=order, kind=kind)
            logger.info("order %s: %s -> %s (%s)", order.order_number, old, remote.status, label)
            transaction.on_commit(
                lambda: order_status_changed.send(
                    sender=Order,
                    order=order,
                    old_status=old,
                    new_status=remote.status,
                    source=source,
                )
            )
            return order

        order.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
        if remote.status == old:
            reason = "duplicate"
            msgid = gettext_noop("Duplicate %(status)s ignored (%(source)s).")
        elif remote.status not in FORWARD and remote.status not in FINAL:
            reason = "unknown_status"
            msgid = gettext_noop("Unknown status %(status)s ignored (%(source)s).")
        else:
            reason = "stale"
            msgid = gettext_noop("Stale %(status)s ignored: the order is %(current)s (%(source)s).")
        # Reconciliation that finds nothing new writes no timeline noise; webhooks and
        # staff actions always leave a trace.
        if webhook_event is not None or reason != "duplicate" or source != "reconcile":
            OrderEvent.objects.create(
                order=order,
                kind=OrderEvent.Kind.IGNORED,
                **note(
                    msgid,
                    status=choice(Order.Status, remote.status),
                    current=choice(Order.Status, old),
                    source=label,
                ).fields(),
                data={**event_data, "reason": reason, "current_status": old},
                actor=actor,
            )
        return order


def order_resync(*, order: Order, actor: Any = None) -> Order:
    """Fetch the order from Spectra (outside any transaction) and apply it."""
    remote = get_spectra_client().get_order(order.spectra_id)
    result = order_apply_remote(
        remote=remote, source="staff" if actor else "reconcile", actor=actor
    )
    return result or order
