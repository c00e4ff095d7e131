"""Customer emails: which are due, the send-once ledger, rendering and sending.

The ledger (``EmailNotification``) has one row per order and kind (a unique
constraint), so a duplicate webhook, a retried task or a re-run of reconciliation can
never mail twice. A row moves ``queued -> sending -> sent`` (or ``failed``), or is
created ``suppressed`` (test order, kind switched off, no address).

Exactly once, as far as SMTP allows: a worker *claims* a row (``queued -> sending``
with ``claimed_at``) in a short transaction with ``SELECT ... FOR UPDATE SKIP LOCKED``,
sends outside any transaction, then marks it ``sent``. A row left in ``sending`` (worker
killed) is only retried after ``CHECKOUT_EMAIL_SEND_LEASE`` seconds, which is longer than
the task's hard time limit, so a send still in progress is never doubled. The one
remaining gap is a worker killed after the mail server accepted the message and before
the row was marked sent: that email is sent again after the lease (at-least-once for
that window only). The window is the length of one UPDATE.

Emails are templates, not code (allauth style): ``checkout/email/<kind>_subject.txt``,
``<kind>_message.txt`` and ``<kind>_message.html``, rendered by ``email_render`` in the
language the shopper checked out in (``Order.language``), whoever renders them: a
Celery worker has no request to take a language from. The HTML templates carry their
CSS once (``includes/styles.css``, classes in the markup); ``email_render`` inlines it
into each element's ``style`` attribute, as mail clients need. ``email_message`` builds
the message from the rendering; sending and the admin's preview both use it, so staff see
exactly what the customer gets.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

import css_inline
from django.core.mail import EmailMultiAlternatives
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from checkout.conf import app_settings, money
from checkout.languages import shopper_language
from checkout.links import order_status_url as status_path
from checkout.models import EmailNotification, Order, OrderEvent
from checkout.services.constraints import insert_unless_conflict
from checkout.services.outbox import outbox_enqueue
from checkout.services.relay import outbox_kick_on_commit
from checkout.timeline_text import Note, choice, note

logger = logging.getLogger(__name__)

EMAIL_SEND_TASK = "checkout.tasks.email_send"

# Which email a status change makes due. Confirmation is scheduled at placement.
EMAIL_FOR_STATUS: dict[str, str] = {
    Order.Status.SHIPPED: EmailNotification.Kind.SHIPPED,
    Order.Status.DELIVERED: EmailNotification.Kind.DELIVERED,
    Order.Status.CANCELLED: EmailNotification.Kind.CANCELLED,
    Order.Status.REFUNDED: EmailNotification.Kind.REFUNDED,
}

NO_ADDRESS = gettext_noop("The order has no email address.")
# The status link a visitor asks for on the order lookup page: sent outside the ledger.
ORDER_LOOKUP_EMAIL = "order_lookup"

DEFAULT_SEND_LEASE = 300
MAX_SEND_ATTEMPTS = 20
MARK_SENT_TRIES = 6  # about 3 s of retries after the send (see _mark_sent)


def _send_lease() -> dt.timedelta:
    return dt.timedelta(seconds=app_settings.EMAIL_SEND_LEASE or DEFAULT_SEND_LEASE)


def _suppressed_reason(*, order: Order, kind: str) -> Note | None:
    if kind not in app_settings.EMAIL_KINDS:
        return note(
            gettext_noop("Email kind %(kind)s is switched off (CHECKOUT_EMAIL_KINDS)."), kind=kind
        )
    if not order.is_test and app_settings.EMAIL_SENDER.get(kind) == "spectra":
        # Spectra emails live customers itself about this kind: ours would be a second.
        return note(
            gettext_noop("Spectra sends this email to the customer (CHECKOUT_EMAIL_SENDER).")
        )
    if order.is_test and not app_settings.SEND_TEST_ORDER_EMAILS:
        return note(
            gettext_noop(
                "Test order: customer emails are not sent (CHECKOUT_SEND_TEST_ORDER_EMAILS)."
            )
        )
    if not order.email:
        return note(NO_ADDRESS)
    return None


def email_schedule(
    *,
    order: Order,
    kind: str,
    timeline: list[OrderEvent] | None = None,
    order_is_new: bool = False,
) -> EmailNotification | None:
    """Create the ledger row for (order, kind) and enqueue its send; None if it exists.

    Call inside the caller's ``transaction.atomic``: the row and the outbox message
    commit with the change that made the email due, or not at all. ``timeline``: a list
    of entries the caller is about to insert; the email's entry is added to it instead
    of being inserted on its own. ``order_is_new``: the order row was inserted in the
    caller's (still open) transaction, so no other ledger row can name it yet and the
    row is inserted without the savepoint a possible conflict needs.
    """
    notification = email_ledger_row(order=order, kind=kind)
    if order_is_new:
        notification.save(force_insert=True)
    elif not _ledger_insert(notification):
        return None  # already scheduled (the unique (order, kind) row exists)
    entry = email_scheduled_entry(notification)
    if timeline is None:
        entry.save()
    else:
        timeline.append(entry)
    if notification.status == EmailNotification.Status.QUEUED:
        outbox_enqueue(task_name=EMAIL_SEND_TASK, notification_id=notification.pk)
        outbox_kick_on_commit()
    email_scheduled_log(notification)
    return notification


def email_ledger_row(*, order: Order, kind: str) -> EmailNotification:
    """The (unsaved) ledger row for (order, kind): queued, or suppressed with its reason."""
    if kind not in EmailNotification.Kind.values:
        raise ValueError(f"Unknown email kind {kind!r}")
    reason = _suppressed_reason(order=order, kind=kind)
    return EmailNotification(
        order=order,
        kind=kind,
        to_email=order.email,
        status=(EmailNotification.Status.SUPPRESSED if reason else EmailNotification.Status.QUEUED),
        suppressed_reason=str(reason or "")[:255],
    )


def email_scheduled_entry(notification: EmailNotification) -> OrderEvent:
    """The (unsaved) timeline entry saying the email was queued or suppressed."""
    return _entry(notification, _schedule_message(notification))


def email_scheduled_log(notification: EmailNotification) -> None:
    reason = notification.suppressed_reason
    logger.info(
        "order %s: %s email %s%s",
        notification.order.order_number,
        notification.kind,
        notification.status,
        f" ({reason})" if reason else "",
    )


def _ledger_insert(notification: EmailNotification) -> bool:
    """Insert a ledger row unless its (order, kind) exists; return whether it was inserted.

    The partial unique constraint on (order, kind) decides, also against a concurrent
    scheduler; the savepoint keeps the caller's transaction usable after a conflict.
    """
    return insert_unless_conflict(notification)


def email_resend(*, order: Order, kind: str, actor: Any) -> EmailNotification:
    """Queue a deliberate resend of ``kind`` (a staff action); always a new ledger row."""
    if kind not in EmailNotification.Kind.values:
        raise ValueError(f"Unknown email kind {kind!r}")
    with transaction.atomic():
        notification = EmailNotification.objects.create(
            order=order,
            kind=kind,
            to_email=order.email,
            is_resend=True,
            requested_by=actor if getattr(actor, "pk", None) else None,
            status=(
                EmailNotification.Status.QUEUED
                if order.email
                else EmailNotification.Status.SUPPRESSED
            ),
            suppressed_reason="" if order.email else _(NO_ADDRESS),
        )
        OrderEvent.objects.create(
            order=order,
            kind=OrderEvent.Kind.EMAIL,
            **note(
                gettext_noop("Resend of the %(kind)s email requested."),
                kind=choice(EmailNotification.Kind, kind),
            ).fields(),
            data={"notification_id": notification.pk, "kind": kind},
            actor=notification.requested_by,
        )
        if notification.status == EmailNotification.Status.QUEUED:
            outbox_enqueue(task_name=EMAIL_SEND_TASK, notification_id=notification.pk)
            outbox_kick_on_commit()
    return notification


def _schedule_message(notification: EmailNotification) -> Note:
    kind = choice(EmailNotification.Kind, notification.kind)
    if notification.status == EmailNotification.Status.SUPPRESSED:
        # The reason again, as a message id: the ledger row keeps it as text.
        reason = _suppressed_reason(order=notification.order, kind=notification.kind)
        return note(
            gettext_noop("%(kind)s email suppressed: %(reason)s"),
            kind=kind,
            reason=reason or notification.suppressed_reason,
        )
    return note(
        gettext_noop("%(kind)s email queued for %(to)s."), kind=kind, to=notification.to_email
    )


def _record(notification: EmailNotification, message: Note, **data: Any) -> None:
    _entry(notification, message, **data).save()


def _entry(notification: EmailNotification, message: Note, **data: Any) -> OrderEvent:
    """Return the (unsaved) timeline entry for something that happened to an email."""
    return OrderEvent(
        order_id=notification.order_id,
        kind=OrderEvent.Kind.EMAIL,
        data={
            "notification_id": notification.pk,
            "kind": notification.kind,
            "status": notification.status,
            **data,
        },
        **message.fields(),
    )


# --- rendering ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def tracking_url(*, carrier: str, tracking_number: str) -> str:
    """Return the carrier's tracking page for ``tracking_number`` ('' if unknown)."""
    if not tracking_number:
        return ""
    urls = {name.lower(): url for name, url in app_settings.TRACKING_URLS.items()}
    template = urls.get((carrier or "").lower())
    return template.format(number=tracking_number) if template else ""


def order_status_url(order: Order) -> str:
    """Absolute signed order-status link, or '' when the site cannot build one."""

    try:
        path = str(status_path(order))
    except Exception:  # a broken link must not block an email
        logger.exception("order %s: could not build the order-status link", order.order_number)
        return ""
    if path.startswith(("http://", "https://")):
        return path
    base = app_settings.SITE_URL
    return f"{base}{path}" if base else path


def email_context(*, order: Order, kind: str) -> dict[str, Any]:
    """Everything the email templates may use; amounts are Decimals (``|money`` formats)."""
    items = []
    for item in order.items or []:
        quantity = int(item.get("quantity") or 0)
        unit = money(item.get("unit_price") or item.get("price") or 0)
        line_total = item.get("line_total")
        items.append(
            {
                "name": item.get("name") or item.get("product_name") or item.get("sku") or "",
                "variant": item.get("variant_name") or "",
                "sku": item.get("sku", ""),
                "quantity": quantity,
                "unit_price": unit,
                "line_total": money(line_total) if line_total is not None else unit * quantity,
            }
        )
    totals: list[tuple[str, Any]] = [
        (_("Subtotal"), order.subtotal),
        (_("Shipping"), order.shipping_total),
    ]
    if order.discount_total:
        totals.append((_("Discount"), -money(order.discount_total)))
    totals.append((_("Tax"), order.tax_total))
    if order.gift_card_total:
        totals.append((_("Gift card"), -money(order.gift_card_total)))
    return {
        "order": order,
        "kind": kind,
        "currency": order.currency,
        "order_number": order.order_number,
        "customer_name": order.customer_name or (order.shipping or {}).get("name", ""),
        "items": items,
        "totals": [{"label": label, "amount": value} for label, value in totals],
        "grand_total": order.grand_total,
        "carrier": order.shipping_carrier,
        "tracking_number": order.tracking_number,
        "tracking_url": tracking_url(
            carrier=order.shipping_carrier, tracking_number=order.tracking_number
        ),
        "status_url": order_status_url(order),
        "shipping_address": order.shipping or {},
        # The confirmation shows it (the cardholder's, maybe abroad); later emails need not.
        "billing_address": order.billing or {},
        "site_url": app_settings.SITE_URL,
    }


@functools.cache
def _css_inliner() -> css_inline.CSSInliner:
    """The one inliner every rendering shares (it holds no state between calls).

    ``keep_at_rules``: ``@media`` rules cannot go into a ``style`` attribute, so they stay
    in a ``<style>`` for the clients that honour them; every other rule is inlined and
    removed. ``load_remote_stylesheets=False``: a ``<link>`` in an overridden template
    must not make rendering an email fetch anything.
    """
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def email_render(*, order: Order, kind: str) -> RenderedEmail:
    """Render the subject/text/HTML trio of ``kind`` for ``order``, in the order's language.

    The HTML comes out with its stylesheet inlined into the elements' ``style`` attributes.
    """
    with translation.override(shopper_language(order.language)):
        context = email_context(order=order, kind=kind)
        prefix = f"checkout/email/{kind}"
        subject = render_to_string(f"{prefix}_subject.txt", context)
        html = render_to_string(f"{prefix}_message.html", context)
        return RenderedEmail(
            subject=" ".join(subject.split()),
            text=render_to_string(f"{prefix}_message.txt", context),
            html=_css_inliner().inline(html),
        )


def email_message(
    *, order: Order, kind: str, to: str, headers: dict[str, str] | None = None
) -> EmailMultiAlternatives:
    """Return the email of ``kind`` for ``order``, addressed to ``to``, ready to send.

    Building it sends nothing: the admin's preview shows this very message.
    """
    rendered = email_render(order=order, kind=kind)
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=app_settings.EMAIL_FROM,
        to=[to],
        reply_to=list(app_settings.EMAIL_REPLY_TO) or None,
        headers=headers,
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def email_kinds_for_order(*, order: Order) -> list[str]:
    """Return the email kinds that apply to ``order``: those it got or may be resent.

    The confirmation; the email its status made due ("shipped" too once delivered); every
    kind its ledger holds (a delivered order later refunded had both); in the ledger's
    order, then the order lookup's status link when the order has an address to send it to.
    """
    kinds = {EmailNotification.Kind.CONFIRMATION.value}
    if status_kind := EMAIL_FOR_STATUS.get(order.status):
        kinds.add(status_kind)
    if order.status == Order.Status.DELIVERED:
        kinds.add(EmailNotification.Kind.SHIPPED)
    kinds.update(EmailNotification.objects.filter(order=order).values_list("kind", flat=True))
    applying = [kind for kind in EmailNotification.Kind.values if kind in kinds]
    return [*applying, ORDER_LOOKUP_EMAIL] if order.email else applying


# --- sending -----------------------------------------------------------------------------


def email_claim(*, notification_id: int) -> EmailNotification | None:
    """Move a row to ``sending`` if it is queued (or its lease ran out); None otherwise."""
    now = timezone.now()
    with transaction.atomic():
        # of=("self",): lock the ledger row only. Locking the joined order row too would
        # skip the email whenever anything else holds the order (a webhook applying the
        # next status, a staff action), leaving it queued until the sweep.
        notification = (
            EmailNotification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("order")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None:
            return None  # another worker holds it right now
        if notification.status == EmailNotification.Status.SENDING:
            if notification.claimed_at and notification.claimed_at > now - _send_lease():
                return None  # a send may still be in progress
        elif notification.status not in (
            EmailNotification.Status.QUEUED,
            EmailNotification.Status.FAILED,
        ):
            return None
        notification.status = EmailNotification.Status.SENDING
        notification.claimed_at = now
        notification.attempts += 1
        notification.save(update_fields=["status", "claimed_at", "attempts"])
    return notification


def email_send(*, notification_id: int) -> EmailNotification | None:
    """Send one ledger row exactly once; raise on a delivery error (the task retries).

    Returns the row when this call sent it, None when there was nothing to do.
    """
    notification = email_claim(notification_id=notification_id)
    if notification is None:
        return None
    order = notification.order
    try:
        message = email_message(
            order=order,
            kind=notification.kind,
            to=notification.to_email or order.email,
            headers={"X-Checkout-Notification": str(notification.pk)},
        )
        message.send(fail_silently=False)
    except Exception as exc:
        # Back to ``failed``: the task retries with backoff and the sweep picks it up
        # after that, so a mail-server outage delays the email but never drops it.
        EmailNotification.objects.filter(pk=notification.pk).update(
            status=EmailNotification.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        logger.warning(
            "order %s: %s email failed (try %s): %s",
            order.order_number,
            notification.kind,
            notification.attempts,
            type(exc).__name__,
        )
        raise
    # Keep this the very next statement after the send: it is the only at-least-once window.
    _mark_sent(notification.pk, subject=message.subject[:255])
    notification.status = EmailNotification.Status.SENT
    notification.subject = message.subject[:255]
    _record(
        notification,
        note(
            gettext_noop("%(kind)s email sent to %(to)s."),
            kind=choice(EmailNotification.Kind, notification.kind),
            to=notification.to_email,
        ),
    )
    logger.info("order %s: %s email sent", order.order_number, notification.kind)
    return notification


def email_send_direct(*, order: Order, kind: str, to: str) -> None:
    """Render and send ``kind`` for ``order`` now, outside the ledger.

    For emails a visitor asks for (the order lookup's status link), which may be sent
    any number of times; the caller's rate limit bounds them. Raises on a delivery error.
    """
    email_message(order=order, kind=kind, to=to).send(fail_silently=False)


def _mark_sent(notification_id: int, *, subject: str) -> None:
    """Record the send; ride out a dropped database connection instead of failing.

    The message is already with the mail server: if this UPDATE failed, the row would stay
    ``sending`` and be sent again after the lease. So a broken connection (PostgreSQL
    restarted, the connection terminated) is closed and the UPDATE retried for a few
    seconds before giving up.
    """
    for attempt in range(MARK_SENT_TRIES):
        try:
            EmailNotification.objects.filter(pk=notification_id).update(
                status=EmailNotification.Status.SENT,
                sent_at=timezone.now(),
                subject=subject,
                error="",
            )
            return
        except (OperationalError, InterfaceError):
            if attempt == MARK_SENT_TRIES - 1 or connection.in_atomic_block:
                raise
            logger.warning("email %s: marking sent failed; reconnecting", notification_id)
            connection.close()
            time.sleep(min(2.0, 0.1 * 2**attempt))


def email_mark_failed(*, notification_id: int, error: str) -> None:
    """Record that sending gave up (retries exhausted); the sweep may try again later."""
    notification = EmailNotification.objects.filter(pk=notification_id).first()
    if notification is None:
        return
    notification.status = EmailNotification.Status.FAILED
    notification.error = error[:2000]
    notification.save(update_fields=["status", "error"])
    _record(
        notification,
        note(
            gettext_noop("%(kind)s email failed: %(error)s"),
            kind=choice(EmailNotification.Kind, notification.kind),
            error=error[:200],
        ),
    )


def emails_due_for_retry(*, now: dt.datetime | None = None, limit: int = 200) -> list[int]:
    """Ids of rows the sweep should send again: queued/failed a while, or sending past lease."""
    now = now or timezone.now()
    lease_cutoff = now - _send_lease()
    idle_cutoff = now - dt.timedelta(seconds=60)
    rows = EmailNotification.objects.filter(
        Q(status=EmailNotification.Status.SENDING, claimed_at__lt=lease_cutoff)
        | Q(
            status__in=[EmailNotification.Status.QUEUED, EmailNotification.Status.FAILED],
            created_at__lt=idle_cutoff,
            attempts__lt=MAX_SEND_ATTEMPTS,
        )
    ).order_by("created_at")
    return list(rows.values_list("pk", flat=True)[:limit])
