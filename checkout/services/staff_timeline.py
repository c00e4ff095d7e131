"""The timeline staff read on an order's (or an attempt's) admin page.

``order_timeline`` merges an order's events, webhook deliveries and emails into one
chronological list; updates that changed nothing as designed (duplicates, late moves) fold
into one quiet line, so a healthy order reads as healthy.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from checkout.models import CheckoutAttempt, EmailNotification, Order, OrderEvent, WebhookEvent


@dataclass(frozen=True)
class TimelineEntry:
    """One line of an order's story. ``ref`` names the row it came from: (model, pk)."""

    at: dt.datetime
    kind: str
    label: str
    summary: str
    detail: str = ""
    ok: bool | None = None
    actor: str = ""
    ref: tuple[str, int] | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _event_entry(event: OrderEvent) -> TimelineEntry:
    data = event.data or {}
    detail = ""
    ok: bool | None = data.get("ok") if isinstance(data.get("ok"), bool) else None
    if event.kind == OrderEvent.Kind.API_CALL:
        status = data.get("status")
        duration = data.get("duration_ms")
        parts = [str(status) if status is not None else _("no answer")]
        if duration is not None:
            parts.append(_("%(ms)s ms") % {"ms": duration})
        if data.get("error_code"):
            parts.append(str(data["error_code"]))
        detail = " · ".join(parts)
        if ok is None and isinstance(status, int):
            ok = status < 400
    elif data.get("error"):
        detail = str(data["error"])
    return TimelineEntry(
        at=event.created_at,
        kind=event.kind,
        label=event.get_kind_display(),
        summary=event.get_message_display(),
        detail=detail,
        ok=ok,
        actor=event.actor.get_username() if event.actor else str(data.get("actor") or ""),
        ref=("orderevent", event.pk),
        data=data,
    )


def _webhook_entry(event: WebhookEvent) -> TimelineEntry:
    signature = _("signature valid") if event.signature_valid else _("signature INVALID")
    detail = f"{signature} · {event.get_outcome_display()}"
    if event.deliveries > 1:
        detail += " · " + _("%(n)s deliveries") % {"n": event.deliveries}
    if event.error:
        detail += f" · {event.error}"
    return TimelineEntry(
        at=event.received_at,
        kind="webhook",
        label=_("Webhook received"),
        summary=f"{event.get_source_display()} {event.event_type}",
        detail=detail,
        ok=event.signature_valid and event.outcome != WebhookEvent.Outcome.FAILED,
        ref=("webhookevent", event.pk),
    )


def _email_entries(email: EmailNotification) -> list[TimelineEntry]:
    kind = email.get_kind_display()
    resend = _(" (deliberate resend)") if email.is_resend else ""
    actor = email.requested_by.get_username() if email.requested_by else ""
    ref = ("emailnotification", email.pk)
    if email.status == EmailNotification.Status.SUPPRESSED:
        return [
            TimelineEntry(
                at=email.created_at,
                kind="email",
                label=_("Email"),
                summary=_("%(kind)s email suppressed%(resend)s") % {"kind": kind, "resend": resend},
                detail=email.suppressed_reason,
                actor=actor,
                ref=ref,
            )
        ]
    entries = [
        TimelineEntry(
            at=email.created_at,
            kind="email",
            label=_("Email"),
            summary=_("%(kind)s email queued%(resend)s for %(to)s")
            % {"kind": kind, "resend": resend, "to": email.to_email},
            actor=actor,
            ref=ref,
        )
    ]
    if email.status == EmailNotification.Status.SENT and email.sent_at:
        entries.append(
            TimelineEntry(
                at=email.sent_at,
                kind="email",
                label=_("Email"),
                summary=_("%(kind)s email sent to %(to)s") % {"kind": kind, "to": email.to_email},
                detail=email.subject,
                ok=True,
                ref=ref,
            )
        )
    elif email.status == EmailNotification.Status.FAILED:
        entries.append(
            TimelineEntry(
                at=email.claimed_at or email.created_at,
                kind="email",
                label=_("Email"),
                summary=_("%(kind)s email failed (%(n)s attempts)")
                % {"kind": kind, "n": email.attempts},
                detail=email.error,
                ok=False,
                ref=ref,
            )
        )
    elif email.status == EmailNotification.Status.SENDING:
        entries.append(
            TimelineEntry(
                at=email.claimed_at or email.created_at,
                kind="email",
                label=_("Email"),
                summary=_("%(kind)s email being sent") % {"kind": kind},
                detail=email.error,
                ref=ref,
            )
        )
    return entries


# Updates the forward-only state machine ignores by design: a repeat of the order's
# status, or an older one arriving late (webhooks come out of order, and a staff
# action's own moves come back as webhooks after the action has applied them).
EXPECTED_IGNORED = ("duplicate", "stale")


def _ignored_entry(events: list[OrderEvent], *, webhook_types: dict[int, str]) -> TimelineEntry:
    """One quiet line for every update that changed nothing, as expected.

    Spectra announces one change in more than one webhook (``order.status_changed`` and
    ``order.shipped``): on a healthy order most updates change nothing, and a row each
    would read as trouble.
    """
    counts: Counter[str] = Counter()
    for event in events:
        data = event.data or {}
        origin = webhook_types.get(data.get("webhook_event_id") or 0) or str(
            data.get("source") or ""
        )
        status = str(data.get("remote_status") or "-")
        if data.get("reason") == "stale":
            status = _("%(status)s; the order was already %(current)s") % {
                "status": status,
                "current": data.get("current_status") or "-",
            }
        counts[f"{origin} ({status})"] += 1
    detail = " · ".join(
        _("%(what)s, %(n)s times") % {"what": what, "n": n} if n > 1 else what
        for what, n in counts.items()
    )
    return TimelineEntry(
        at=max(e.created_at for e in events),
        kind="ignored_expected",
        label=_("Repeated updates"),
        summary=ngettext(
            "%(n)s update changed nothing: it repeated or preceded the order's status (expected).",
            "%(n)s updates changed nothing: they repeated or preceded the order's status "
            "(expected).",
            len(events),
        )
        % {"n": len(events)},
        detail=detail,
    )


def order_timeline(*, order: Order) -> list[TimelineEntry]:
    """Return everything that happened to an order (and its checkout attempt), oldest first.

    Merges timeline events (order's and attempt's), webhooks naming the order (Spectra by
    order id, Stripe by PaymentIntent id) and the email ledger. Email events that merely
    restate a ledger row are folded into that row's entries, and updates ignored as
    expected (repeated or late) into one quiet line. Four queries in all.
    """
    event_filter = Q(order=order)
    if order.attempt_id:
        event_filter |= Q(attempt_id=order.attempt_id)
    events = list(OrderEvent.objects.filter(event_filter).select_related("actor"))
    webhook_filter = Q(source=WebhookEvent.Source.SPECTRA, spectra_order_id=order.spectra_id)
    if order.payment_intent_id:
        webhook_filter |= Q(source=WebhookEvent.Source.STRIPE, object_id=order.payment_intent_id)
    webhooks = list(WebhookEvent.objects.filter(webhook_filter).defer("raw_body", "traceback"))
    emails = list(EmailNotification.objects.filter(order=order).select_related("requested_by"))
    email_ids = {e.pk for e in emails}

    entries: list[TimelineEntry] = []
    ignored: list[OrderEvent] = []
    for event in events:
        if (
            event.kind == OrderEvent.Kind.EMAIL
            and (event.data or {}).get("notification_id") in email_ids
            and not (event.data or {}).get("error")
        ):
            continue
        if event.kind == OrderEvent.Kind.IGNORED and (event.data or {}).get("reason") in (
            EXPECTED_IGNORED
        ):
            ignored.append(event)
            continue
        entries.append(_event_entry(event))
    if ignored:
        types = {w.pk: w.event_type for w in webhooks}
        entries.append(_ignored_entry(ignored, webhook_types=types))
    entries.extend(_webhook_entry(w) for w in webhooks)
    for email in emails:
        entries.extend(_email_entries(email))
    entries.sort(key=lambda e: (e.at, e.ref or ("", 0)))
    return entries


def attempt_timeline(*, attempt: CheckoutAttempt) -> list[TimelineEntry]:
    """Return an attempt's own timeline (its order's, when it has one, is the fuller one)."""
    events = OrderEvent.objects.filter(attempt=attempt).select_related("actor")
    return [_event_entry(e) for e in events]
