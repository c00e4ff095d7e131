"""The webhook inbox: verify, store raw, hand over to Celery; later, process one event.

Intake (``webhook_receive_spectra`` / ``webhook_receive_stripe``) runs in the request:
it verifies the signature over the raw bytes, stores the event in a ``WebhookEvent`` row
keyed by a deduplication key and writes an outbox row in the same transaction. It makes
no broker call and changes nothing about any order, so it answers in milliseconds and a
broker outage cannot fail it: the relay publishes the outbox row when the broker is back.

Processing (``webhook_event_process``) runs in a Celery task: it locks the row, applies
the event through ``order_apply_remote`` (Spectra) or the attempt recovery (Stripe), and
records the outcome, error and traceback on the row (dj-stripe style).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import traceback
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from checkout.conf import app_settings
from checkout.exceptions import SpectraNotFound
from checkout.models import CheckoutAttempt, OrderEvent, WebhookEvent
from checkout.services import orders
from checkout.services.outbox import outbox_enqueue
from checkout.services.relay import outbox_kick_on_commit
from checkout.services.spectra import Order as RemoteOrder
from checkout.services.spectra import get_spectra_client
from checkout.services.spectra.results import ResponseFormatError
from checkout.services.sync import OrderHint, order_apply_remote, order_find_local
from checkout.timeline_text import note

logger = logging.getLogger(__name__)

PROCESS_TASK = "checkout.tasks.webhook_event_process"
STRIPE_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed")
# Headers worth keeping next to the raw body (never the signature secret: it is not sent).
KEPT_HEADERS = ("Content-Type", "User-Agent", "X-Webhook-Event", "X-Webhook-Signature")


class WebhookRejected(Exception):
    """The delivery is refused; ``status`` is the HTTP answer, ``reason`` a short code."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Receipt:
    event: WebhookEvent
    created: bool  # False: a duplicate delivery of an event already stored


def spectra_signature_valid(*, body: bytes, header: str | None, secret: str) -> bool:
    """Check ``sha256=<hex HMAC-SHA256(body)>`` in constant time."""
    if not header or not secret:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())


def _store(
    *,
    source: str,
    dedup_key: str,
    event_type: str,
    body: bytes,
    headers: dict[str, str],
    about: str,
    spectra_order_id: int | None = None,
    object_id: str = "",
) -> Receipt:
    """Store one delivery; ``about`` names what it concerns, for the log line."""
    event = WebhookEvent(
        source=source,
        event_type=event_type[:64],
        dedup_key=dedup_key,
        raw_body=body.decode("utf-8"),
        headers=headers,
        signature_valid=True,
        spectra_order_id=spectra_order_id,
        object_id=object_id[:255],
    )
    # The database the site's routers choose for webhook events (the outbox row goes with it).
    connection = connections[router.db_for_write(WebhookEvent)]
    if connection.vendor == "postgresql":
        return _store_upsert(event, connection, about=about)
    try:
        with transaction.atomic(using=connection.alias):
            event.save(force_insert=True, using=connection.alias)
            # Same transaction: the event and the work to do on it exist together.
            outbox_enqueue(task_name=PROCESS_TASK, webhook_event_id=event.pk)
            outbox_kick_on_commit()
    except IntegrityError:
        WebhookEvent.objects.filter(dedup_key=dedup_key).update(deliveries=F("deliveries") + 1)
        event = WebhookEvent.objects.get(dedup_key=dedup_key)
        logger.info("webhook %s: duplicate delivery of %s (%s)", event.pk, event_type, source)
        return Receipt(event=event, created=False)
    logger.info("webhook %s: stored %s %s for %s", event.pk, source, event_type, about)
    return Receipt(event=event, created=True)


# ``_store_upsert``'s statement, written out: every column of both tables (Django sets no
# database defaults), identifiers as the models name them, every value a parameter.
# tests/integration/webhooks/test_intake.py checks the column lists against the models.
UPSERT_SQL = """
WITH ev AS (
    INSERT INTO checkout_webhookevent (
        source, event_type, dedup_key, raw_body, headers, signature_valid,
        spectra_order_id, object_id, outcome, deliveries, processing_attempts,
        error, traceback, received_at, processed_at
    )
    VALUES (
        %(source)s, %(event_type)s, %(dedup_key)s, %(raw_body)s, %(headers)s::jsonb, true,
        %(spectra_order_id)s, %(object_id)s, %(outcome)s, 1, 0,
        '', '', %(now)s, NULL
    )
    ON CONFLICT (dedup_key) DO UPDATE SET deliveries = checkout_webhookevent.deliveries + 1
    RETURNING id, deliveries, (xmax = 0) AS created
), ob AS (
    INSERT INTO checkout_outboxmessage (
        task_name, kwargs, created_at, available_at, published_at, publish_attempts, last_error
    )
    SELECT %(task_name)s, jsonb_build_object('webhook_event_id', ev.id), %(now)s, NULL, NULL, 0, ''
    FROM ev
    WHERE ev.created
)
SELECT id, deliveries, created FROM ev
"""


def _store_upsert(event: WebhookEvent, connection: BaseDatabaseWrapper, *, about: str) -> Receipt:
    """Store a delivery and its outbox row in ONE statement (PostgreSQL only).

    ``INSERT ... ON CONFLICT (dedup_key) DO UPDATE SET deliveries = deliveries + 1`` in a
    data-modifying CTE, and the outbox row inserted from it only when the row is new: one
    round trip, atomic as any single statement, no failed INSERT, savepoint or re-read for
    a duplicate. For a duplicate the returned event carries its id and delivery count only.
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            UPSERT_SQL,
            {
                "source": event.source,
                "event_type": event.event_type,
                "dedup_key": event.dedup_key,
                "raw_body": event.raw_body,
                "headers": json.dumps(event.headers),
                "spectra_order_id": event.spectra_order_id,
                "object_id": event.object_id,
                "outcome": WebhookEvent.Outcome.RECEIVED.value,
                "now": now,
                "task_name": PROCESS_TASK,
            },
        )
        pk, count, created = cursor.fetchone()
    event.pk, event.deliveries, event.received_at = pk, count, now
    event._state.adding = False
    event._state.db = connection.alias
    if not created:
        logger.info("webhook %s: duplicate delivery of %s (%s)", pk, event.event_type, event.source)
        return Receipt(event=event, created=False)
    outbox_kick_on_commit()
    logger.info("webhook %s: stored %s %s for %s", pk, event.source, event.event_type, about)
    return Receipt(event=event, created=True)


def webhook_receive_spectra(*, body: bytes, headers: dict[str, str]) -> Receipt:
    """Verify and store one Spectra delivery; raise ``WebhookRejected`` to refuse it."""
    if not spectra_signature_valid(
        body=body,
        header=headers.get("X-Webhook-Signature"),
        secret=app_settings.WEBHOOK_SECRET,
    ):
        raise WebhookRejected(401, "invalid_signature", "Missing or invalid X-Webhook-Signature.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # deep nesting recurses
        raise WebhookRejected(400, "invalid_json", "The body is not valid JSON.") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        raise WebhookRejected(400, "invalid_event", "The body is not a Spectra event.")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise WebhookRejected(400, "invalid_event", "The event has no data object.")
    order_id: int | None = None
    if payload["event"].startswith("order."):
        raw_id = data.get("id")
        # Ids are stored in a bigint column: anything outside it is not a Spectra order.
        if isinstance(raw_id, bool) or not isinstance(raw_id, int) or not 0 < raw_id < 2**63:
            raise WebhookRejected(400, "invalid_event", "The order event has no order id.")
        order_id = raw_id
    # Spectra sends no event id: the digest of the raw body is the key, so a duplicate
    # delivery or a replayed capture lands on the same row.
    dedup_key = "spectra:" + hashlib.sha256(body).hexdigest()
    kept = {name: headers[name] for name in KEPT_HEADERS if name in headers}
    return _store(
        source=WebhookEvent.Source.SPECTRA,
        dedup_key=dedup_key,
        event_type=payload["event"],
        body=body,
        headers=kept,
        about=f"Spectra order {order_id}" if order_id else "no order (not an order event)",
        spectra_order_id=order_id,
        object_id=str(order_id or ""),
    )


def webhook_receive_stripe(*, body: bytes, headers: dict[str, str]) -> Receipt:
    """Verify (``stripe.Webhook.construct_event``) and store one Stripe delivery."""
    import stripe

    secret = app_settings.STRIPE_WEBHOOK_SECRET
    signature = headers.get("Stripe-Signature", "")
    if not secret or not signature:
        raise WebhookRejected(401, "invalid_signature", "Missing or invalid Stripe-Signature.")
    try:
        stripe.Webhook.construct_event(body.decode("utf-8"), signature, secret)
        event = json.loads(body)
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected(
            401, "invalid_signature", "Missing or invalid Stripe-Signature."
        ) from exc
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise WebhookRejected(400, "invalid_json", "The body is not a Stripe event.") from exc
    if not isinstance(event, dict):
        raise WebhookRejected(400, "invalid_event", "The body is not a Stripe event.")
    event_id = str(event.get("id") or "")
    event_type = str(event.get("type") or "")
    if not event_id or not event_type:
        raise WebhookRejected(400, "invalid_event", "The body is not a Stripe event.")
    obj = (event.get("data") or {}).get("object") or {}
    return _store(
        about=_stripe_about(obj),
        source=WebhookEvent.Source.STRIPE,
        dedup_key="stripe:" + event_id,
        event_type=event_type,
        body=body,
        headers={"Stripe-Signature": signature[:200]},
        object_id=str(obj.get("id") or ""),
    )


def _stripe_about(obj: Any) -> str:
    """Name what a Stripe event concerns from its own body (intake reads no table).

    The order does not exist yet when a payment succeeds, so the line names the
    PaymentIntent and the checkout attempt its metadata carries.
    """
    if not isinstance(obj, dict):
        return "no object"
    name = {"payment_intent": "PaymentIntent"}.get(str(obj.get("object") or ""), "object")
    what = f"{name} {str(obj.get('id') or '-')[:64]}"
    metadata = obj.get("metadata")
    attempt = str(metadata.get("checkout_attempt") or "")[:64] if isinstance(metadata, dict) else ""
    return f"{what}, attempt {attempt}" if attempt else f"{what}, no checkout attempt named"


# --- processing --------------------------------------------------------------------------


def webhook_event_process(*, webhook_event_id: int, force: bool = False) -> str:
    """Apply one stored event once; return its outcome. ``force`` re-applies (replay).

    Raises on an unexpected error after recording it on the row, so the task retries.
    """
    try:
        event = WebhookEvent.objects.get(pk=webhook_event_id)
        if not event.raw_body:  # handled, and its body removed after retention: done
            logger.info("webhook %s: body removed after retention, not replayed", event.pk)
            return str(event.outcome)
        if event.source == WebhookEvent.Source.STRIPE:
            return _process_stripe(event_id=webhook_event_id, force=force)
        return _process_spectra(event_id=webhook_event_id, force=force)
    except WebhookEvent.DoesNotExist:
        logger.warning("webhook %s: no such event", webhook_event_id)
        return "missing"
    except Exception as exc:
        WebhookEvent.objects.filter(pk=webhook_event_id).update(
            outcome=WebhookEvent.Outcome.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            traceback=traceback.format_exc()[-10000:],
            processing_attempts=F("processing_attempts") + 1,
        )
        logger.exception("webhook %s: processing failed", webhook_event_id)
        raise


def _pending(event: WebhookEvent, force: bool) -> bool:
    return force or event.outcome in (WebhookEvent.Outcome.RECEIVED, WebhookEvent.Outcome.FAILED)


def _finish(event: WebhookEvent, outcome: str) -> None:
    event.outcome = outcome
    event.processed_at = timezone.now()
    event.processing_attempts += 1
    event.error = ""
    event.traceback = ""
    event.save(
        update_fields=["outcome", "processed_at", "processing_attempts", "error", "traceback"]
    )


def _process_spectra(*, event_id: int, force: bool) -> str:
    """Apply a Spectra event; a payload without what the app needs is read from the API.

    Webhooks are hints: the status comes from ``data.status``, else from the event's name
    (``order.delivered`` means delivered). When neither says it, or the order is unknown
    here and adoption needs the full order, or it ships with no tracking known, the app
    reads ``GET /orders/{id}`` (outside any transaction) and applies that instead.
    """
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        if not _pending(event, force):
            return str(event.outcome)
        payload = json.loads(event.raw_body)
        name = str(payload.get("event", ""))
        data = payload.get("data") or {}
        if not name.startswith("order.") or not isinstance(data, dict) or not data.get("id"):
            _finish(event, WebhookEvent.Outcome.IGNORED)
            return str(event.outcome)
        remote = _remote_from_event(name, data)
        if remote is not None and not _needs_order_read(remote):
            # One transaction, no network: the row lock makes concurrent deliveries of the
            # same task apply once, and the order change commits with the "processed" mark.
            return _apply_event(event, remote)
        order_id = int(data["id"])
    try:
        fetched = get_spectra_client().get_order(order_id)  # network: outside the lock
    except SpectraNotFound:
        fetched = None
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        if not _pending(event, force):
            return str(event.outcome)
        if fetched is None:
            logger.info("webhook %s: order %s not found in Spectra, ignored", event.pk, order_id)
            _finish(event, WebhookEvent.Outcome.IGNORED)
            return str(event.outcome)
        if name != "order.shipped" and _shipped_without_tracking(fetched):
            # order.status_changed fires before order.shipped, which carries the tracking
            # (the docs' shape); moving now would send the shipped email without it.
            # order.shipped, or reconciliation if that is lost, makes the move.
            return _wait_for_tracking(event, fetched)
        return _apply_event(event, fetched)


def _shipped_without_tracking(remote: RemoteOrder) -> bool:
    if remote.status != "shipped" or remote.tracking_number:
        return False
    local = order_find_local(spectra_id=remote.id, is_test=remote.is_test)
    return local is not None and local.status != "shipped" and not local.tracking_number


def _wait_for_tracking(event: WebhookEvent, remote: RemoteOrder) -> str:
    local = order_find_local(spectra_id=remote.id, is_test=remote.is_test)
    if local is not None:
        OrderEvent.objects.create(
            order=local,
            kind=OrderEvent.Kind.IGNORED,
            **note(
                gettext_noop(
                    "Shipped without tracking yet (webhook %(event)s): waiting for "
                    "order.shipped or the next reconciliation."
                ),
                event=event.event_type,
            ).fields(),
            data={"webhook_event_id": event.pk, "reason": "awaiting_tracking"},
        )
    _finish(event, WebhookEvent.Outcome.IGNORED)
    return str(event.outcome)


def _remote_from_event(name: str, data: dict[str, Any]) -> RemoteOrder | OrderHint | None:
    """A full order when ``data`` is one (its status filled from the event's name if
    missing), else the hint it holds, else None (nothing usable: read the order)."""
    hint = OrderHint.from_event(name, data)
    if hint is None:
        return None
    try:
        return RemoteOrder.from_api({**data, "status": hint.status, "is_test": hint.is_test})
    except ResponseFormatError:
        return hint


def _needs_order_read(remote: RemoteOrder | OrderHint) -> bool:
    """Whether the payload lacks something the app needs that ``GET /orders/{id}`` has."""
    local = order_find_local(spectra_id=remote.id, is_test=remote.is_test)
    if local is None:
        # Unknown here: only adoption can use it, and adoption records the full order.
        return isinstance(remote, OrderHint) and app_settings.ADOPT_UNKNOWN_ORDERS
    # Shipping without tracking anywhere would send a "shipped" email with no tracking.
    return (
        remote.status == "shipped"
        and local.status != "shipped"
        and not remote.tracking_number
        and not local.tracking_number
    )


def _apply_event(event: WebhookEvent, remote: RemoteOrder | OrderHint) -> str:
    order = order_apply_remote(remote=remote, source="webhook", webhook_event=event)
    _finish(
        event,
        WebhookEvent.Outcome.PROCESSED if order is not None else WebhookEvent.Outcome.IGNORED,
    )
    return str(event.outcome)


def _attempt_for_intent(obj: dict[str, Any]) -> CheckoutAttempt | None:
    metadata = obj.get("metadata") or {}
    for key in ("attempt_id", "attempt", "checkout_attempt", "attempt_public_id"):
        value = str(metadata.get(key) or "")
        if not value:
            continue
        attempt = CheckoutAttempt.objects.filter(public_id=value).first() if "-" in value else None
        if attempt is None and value.isdigit():
            attempt = CheckoutAttempt.objects.filter(pk=int(value)).first()
        if attempt is not None:
            return attempt
    intent_id = str(obj.get("id") or "")
    if intent_id:
        return CheckoutAttempt.objects.filter(payment_intent_id=intent_id).first()
    return None


def _process_stripe(*, event_id: int, force: bool) -> str:
    # Short transaction to record; attempt recovery talks to Stripe and Spectra, so it
    # runs after the commit (never a network call inside a transaction).
    recover: CheckoutAttempt | None = None
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        if not _pending(event, force):
            return str(event.outcome)
        payload = json.loads(event.raw_body)
        obj = (payload.get("data") or {}).get("object") or {}
        attempt = _attempt_for_intent(obj) if event.event_type in STRIPE_EVENTS else None
        if attempt is None:
            _finish(event, WebhookEvent.Outcome.IGNORED)
            return str(event.outcome)
        has_order = hasattr(attempt, "order")
        OrderEvent.objects.create(
            attempt=attempt,
            order=attempt.order if has_order else None,
            kind=OrderEvent.Kind.WEBHOOK,
            **note(
                gettext_noop("Stripe %(type)s for PaymentIntent %(pi)s."),
                type=event.event_type,
                pi=obj.get("id", ""),
            ).fields(),
            data={"webhook_event_id": event.pk, "status": obj.get("status", "")},
        )
        if (
            event.event_type == "payment_intent.succeeded"
            and not has_order
            and attempt.state
            in (CheckoutAttempt.State.PAYMENT_AUTHORIZED, CheckoutAttempt.State.SUBMITTING)
        ):
            recover = attempt
        _finish(event, WebhookEvent.Outcome.PROCESSED)
    if recover is not None:
        logger.info("attempt %s: paid without an order, recovering", recover.public_id)
        orders.attempt_recover(attempt=recover)
    return str(WebhookEvent.Outcome.PROCESSED)


def webhook_events_replay(
    *, ids: list[int] | None = None, since: Any = None, failed_only: bool = False
) -> list[int]:
    """Mark stored events for processing again and enqueue them; return their ids."""
    # A body removed after its retention (services/retention.py) cannot be processed again.
    events = (
        WebhookEvent.objects.filter(signature_valid=True)
        .exclude(raw_body="")
        .order_by("received_at", "id")
    )
    if ids:
        events = events.filter(pk__in=ids)
    if since is not None:
        events = events.filter(received_at__gte=since)
    if failed_only:
        events = events.filter(outcome=WebhookEvent.Outcome.FAILED)
    chosen = list(events.values_list("pk", flat=True))
    with transaction.atomic():
        for pk in chosen:
            outbox_enqueue(task_name=PROCESS_TASK, webhook_event_id=pk, force=True)
        outbox_kick_on_commit()
    return chosen


def webhook_events_stuck(*, older_than_seconds: int = 60, limit: int = 500) -> list[int]:
    """Ids of events received but never processed (the broker lost or never got the task)."""
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    return list(
        WebhookEvent.objects.filter(
            outcome__in=[WebhookEvent.Outcome.RECEIVED, WebhookEvent.Outcome.FAILED],
            received_at__lt=cutoff,
            processing_attempts__lt=20,
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
