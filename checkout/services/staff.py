"""What staff do to orders, emails, webhook events and checkout attempts (used by admin).

Each action calls the Spectra API (or Stripe) outside any database transaction, feeds
Spectra's answer through ``sync.order_apply_remote(source="staff")`` so the local row
moves the same way a webhook would move it, and records a ``staff`` timeline entry with
the actor. A refusal raises ``StaffActionError`` whose message is the API's own reason,
so admin can show it as it is. Every API call made on an order's behalf is recorded as
an ``api_call`` entry (method, path, status, duration).

The timeline staff read on an order's page is in ``checkout.services.staff_timeline``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from checkout.exceptions import CheckoutError, ProviderError, SpectraError, SpectraNotFound
from checkout.models import CheckoutAttempt, EmailNotification, Order, OrderEvent, WebhookEvent
from checkout.services import inbox, notifications, orders, payments, sync
from checkout.services.environments import spectra_environment_is_test
from checkout.services.orders.capture import order_payment_intent_id
from checkout.services.spectra import CallRecord, SpectraClient, get_spectra_client
from checkout.services.spectra import Order as RemoteOrder
from checkout.timeline_text import Amount, Note, choice, note

logger = logging.getLogger(__name__)

# Spectra's forward moves ([ours] in spectra-api.md): shipping a pending order goes
# through processing first.
SHIPPABLE_FROM = ("pending", "processing")

# The local statuses each order action applies to. Spectra has the last word (it refuses
# a move from a status the local row has not caught up with yet), but a move the order's
# own page already shows to be impossible is neither offered nor sent: re-shipping a
# shipped order would overwrite its tracking and mail the customer a second time.
ORDER_ACTION_FROM: dict[str, tuple[str, ...]] = {
    "ship": SHIPPABLE_FROM,
    "deliver": ("shipped",),
    "cancel": ("pending", "processing"),
}


class StaffActionError(CheckoutError):
    """A staff action was refused (by Spectra, Stripe or a precondition); ``message`` says why."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class StaffResult:
    """What a staff action did, in words staff can read."""

    message: str
    order: Order | None = None
    attempt: CheckoutAttempt | None = None


# --- helpers ------------------------------------------------------------------------------


def _actor(actor: Any) -> Any:
    """Return a user that can be stored in a foreign key, or None."""
    return actor if getattr(actor, "pk", None) else None


def _actor_name(actor: Any) -> str:
    if actor is None:
        return ""
    getter = getattr(actor, "get_username", None)
    return str(getter()) if callable(getter) else str(actor)


def _call_data(record: CallRecord) -> dict[str, Any]:
    return {
        "method": record.method,
        "path": record.path,
        "status": record.status,
        "duration_ms": round(record.duration_ms, 1),
        "error_code": record.error_code,
        "attempt": record.attempt,
        "ok": record.ok,
    }


@contextmanager
def _recording_api_calls(
    *, order: Order | None = None, attempt: CheckoutAttempt | None = None
) -> Iterator[list[CallRecord]]:
    """Record every Spectra call made inside the block as ``api_call`` timeline entries.

    The entries are written after the block, in their own short transaction, so no
    database transaction is held open while the API answers.
    """
    calls: list[CallRecord] = []
    try:
        with get_spectra_client().observe(calls.append):
            yield calls
    finally:
        if calls:
            OrderEvent.objects.bulk_create(
                [
                    OrderEvent(
                        order=order,
                        attempt=attempt,
                        kind=OrderEvent.Kind.API_CALL,
                        message=f"{c.method} {c.path} → {c.status or c.error_code or '-'}",
                        data=_call_data(c),
                    )
                    for c in calls
                ]
            )


def _record_staff(
    *,
    message: Note,
    actor: Any,
    order: Order | None = None,
    attempt: CheckoutAttempt | None = None,
    ok: bool = True,
    **data: Any,
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        attempt=attempt,
        kind=OrderEvent.Kind.STAFF,
        data={"ok": ok, "actor": _actor_name(actor), **data},
        actor=_actor(actor),
        **message.fields(),
    )


def _api_reason(err: SpectraError) -> str:
    """Return the API's reason in a form staff can read (never a key: the client trims)."""
    status = f"{err.status} " if err.status else ""
    code = f"{err.code}: " if err.code else ""
    return f"{status}{code}{err.message}".strip()


def _refused(
    *, what: Note, err: Exception, actor: Any, order: Order | None, attempt: Any = None
) -> StaffActionError:
    if isinstance(err, SpectraError):
        reason = _api_reason(err)
        code = err.code
    else:
        reason = str(err) or err.__class__.__name__
        code = getattr(err, "code", "") or ""
    message = note(gettext_noop("%(what)s failed: %(reason)s"), what=what, reason=reason)
    _record_staff(message=message, actor=actor, order=order, attempt=attempt, ok=False, code=code)
    logger.warning(
        "Staff action on %s refused: %s",
        order.order_number if order else attempt,
        reason,
    )
    return StaffActionError(str(message), code=code)


def _apply(*, remote: RemoteOrder, actor: Any) -> Order:
    """Feed Spectra's answer through the one state machine, as a webhook would."""

    order = sync.order_apply_remote(remote=remote, source="staff", actor=_actor(actor))
    if order is None:
        # Not adopted (an order we do not know locally): nothing to show staff.
        raise StaffActionError(_("Spectra answered, but the order is not known locally."))
    return order


# --- orders -------------------------------------------------------------------------------


def order_action_applies(*, order: Order, action: str) -> bool:
    """Return whether ``action`` ("ship", "deliver", "cancel", ...) applies to the order now."""
    allowed = ORDER_ACTION_FROM.get(action)
    return allowed is None or order.status in allowed


def _require_applies(*, order: Order, action: str, what: Note) -> None:
    if not order_action_applies(order=order, action=action):
        raise StaffActionError(
            _("%(what)s refused: its status is %(status)s.")
            % {"what": what, "status": choice(Order.Status, order.status)},
            code="not_applicable",
        )


def _read_back(client: SpectraClient, order: Order, answer: RemoteOrder | None) -> RemoteOrder:
    """The order after a write: its answer when that was a full order, else read anew.

    Write answers are undocumented; a thin one (``{"success": true}``, an id and a
    status) says the write happened, not what the order now is.
    """
    return answer if answer is not None else client.get_order(order.spectra_id)


def order_ship(*, order: Order, tracking_number: str, carrier: str, actor: Any) -> Order:
    """Set tracking on Spectra, then mark the order shipped there; apply the answer locally."""
    tracking_number = tracking_number.strip()
    carrier = carrier.strip()
    what = note(gettext_noop("Shipping order %(number)s"), number=order.order_number)
    if not tracking_number or not carrier:
        raise StaffActionError(_("A tracking number and a carrier are required."))
    _require_applies(order=order, action="ship", what=what)
    # Never ship on a hold nobody captured: verify (and capture) the payment first.
    if orders.order_payment_verify(order=order) not in (
        Order.Capture.CAPTURED,
        Order.Capture.NOT_REQUIRED,
    ):
        raise StaffActionError(
            _(
                "Not shipped: the order's payment is not captured (%(state)s). See its "
                "timeline; verify the payment again once Stripe answers."
            )
            % {"state": order.get_capture_state_display()}
        )
    client = get_spectra_client()
    try:
        with _recording_api_calls(order=order):
            remote = _read_back(
                client,
                order,
                client.set_tracking(
                    order.spectra_id, tracking_number=tracking_number, carrier=carrier
                ),
            )
            if remote.status == "pending":
                remote = _read_back(
                    client, order, client.set_order_status(order.spectra_id, "processing")
                )
            if remote.status in SHIPPABLE_FROM:
                remote = _read_back(
                    client, order, client.set_order_status(order.spectra_id, "shipped")
                )
    except SpectraError as err:
        raise _refused(what=what, err=err, actor=actor, order=order) from err
    if not remote.tracking_number:
        # The answer need not carry tracking (the guide's order sample has none); the API
        # took the tracking we set, so the order (and its shipped email) carries it.
        remote = dataclasses.replace(
            remote, tracking_number=tracking_number, shipping_carrier=carrier
        )
    order = _apply(remote=remote, actor=actor)
    _record_staff(
        message=note(
            gettext_noop("Marked shipped: %(carrier)s %(number)s (Spectra status: %(status)s)."),
            carrier=carrier,
            number=tracking_number,
            status=choice(Order.Status, remote.status),
        ),
        actor=actor,
        order=order,
        action="ship",
        tracking_number=tracking_number,
        carrier=carrier,
    )
    logger.info("Order %s shipped by staff (%s)", order.order_number, carrier)
    return order


def _order_set_status(
    *, order: Order, action: str, status: str, actor: Any, what: Note, done: Note
) -> Order:
    _require_applies(order=order, action=action, what=what)
    client = get_spectra_client()
    try:
        with _recording_api_calls(order=order):
            remote = _read_back(client, order, client.set_order_status(order.spectra_id, status))
    except SpectraError as err:
        raise _refused(what=what, err=err, actor=actor, order=order) from err
    order = _apply(remote=remote, actor=actor)
    _record_staff(message=done, actor=actor, order=order, action=status)
    logger.info("Order %s set to %s by staff", order.order_number, status)
    return order


def order_deliver(*, order: Order, actor: Any) -> Order:
    """Mark the order delivered on Spectra and apply the answer locally."""
    return _order_set_status(
        order=order,
        action="deliver",
        status="delivered",
        actor=actor,
        what=note(gettext_noop("Marking order %(number)s delivered"), number=order.order_number),
        done=note(gettext_noop("Marked delivered.")),
    )


def order_cancel(*, order: Order, actor: Any) -> Order:
    """Cancel the order on Spectra, apply the answer, then settle the card payment.

    The docs do not say that cancelling refunds, so the payment is checked with Stripe
    afterwards: a hold is released, money Spectra refunded is verified, and money still
    captured is refunded by the app. The timeline says which it was.
    """
    order = _order_set_status(
        order=order,
        action="cancel",
        status="cancelled",
        actor=actor,
        what=note(gettext_noop("Cancelling order %(number)s"), number=order.order_number),
        done=note(gettext_noop("Cancelled in Spectra.")),
    )
    _cancelled_payment_settle(order=order, actor=actor)
    return order


def _cancelled_payment_settle(*, order: Order, actor: Any) -> None:
    """Refund or verify the payment of a cancelled order; record which on the timeline."""
    pi_id = order_payment_intent_id(order)
    if not pi_id:
        _record_staff(
            message=note(gettext_noop("No card payment to refund.")),
            actor=actor,
            order=order,
            action="refund",
        )
        return
    key = f"checkout-order-{order.pk}-cancel"
    try:
        intent = payments.payment_intent_retrieve(payment_intent_id=pi_id)
        if intent.requires_capture:
            payments.payment_intent_cancel(payment_intent_id=pi_id)
            message = note(gettext_noop("Card hold released: nothing had been captured."))
        elif intent.captured:
            refunded = payments.payment_intent_refunded(payment_intent_id=pi_id)
            owed = intent.received - refunded
            if owed <= 0:
                message = note(
                    gettext_noop("Refund verified: Spectra refunded %(amount)s."),
                    amount=Amount(refunded, intent.currency),
                )
            else:
                payments.payment_intent_refund(
                    payment_intent_id=pi_id,
                    amount=owed,
                    currency=intent.currency,
                    idempotency_key=key,
                )
                message = note(
                    gettext_noop("Spectra did not refund; the app refunded %(amount)s."),
                    amount=Amount(owed, intent.currency),
                )
        else:
            message = note(
                gettext_noop("Verified: nothing was captured (Stripe says %(status)s)."),
                status=intent.status,
            )
    except ProviderError as err:
        _record_staff(
            message=note(
                gettext_noop(
                    "The order is cancelled, but its payment could not be checked (%(error)s): "
                    "check Stripe for %(pi)s and refund it there if needed."
                ),
                error=err,
                pi=pi_id,
            ),
            actor=actor,
            order=order,
            ok=False,
            action="refund",
        )
        raise StaffActionError(
            _("Cancelled, but the refund could not be verified: %(error)s") % {"error": err}
        ) from err
    _record_staff(message=message, actor=actor, order=order, action="refund", payment_intent=pi_id)


def order_payment_check(*, order: Order, actor: Any) -> StaffResult:
    """Verify the order's card payment now (capturing a hold still standing)."""
    state = orders.order_payment_verify(order=order)
    order.refresh_from_db()
    message = note(
        gettext_noop("Payment checked: %(state)s."),
        state=choice(Order.Capture, order.capture_state),
    )
    _record_staff(
        message=message,
        actor=actor,
        order=order,
        ok=state != Order.Capture.FAILED,
        action="verify_payment",
    )
    return StaffResult(message=str(message), order=order)


def order_resync(*, order: Order, actor: Any) -> Order:
    """Fetch the order from Spectra and apply whatever changed."""

    what = note(gettext_noop("Re-syncing order %(number)s"), number=order.order_number)
    try:
        with _recording_api_calls(order=order):
            order = sync.order_resync(order=order, actor=_actor(actor))
    except SpectraError as err:
        raise _refused(what=what, err=err, actor=actor, order=order) from err
    _record_staff(
        message=note(
            gettext_noop("Re-synced from Spectra (status: %(status)s, payment: %(payment)s)."),
            status=choice(Order.Status, order.status),
            payment=order.payment_status or "-",
        ),
        actor=actor,
        order=order,
        action="resync",
    )
    return order


def email_kinds_produced(*, orders: QuerySet[Order] | list[Order]) -> list[str]:
    """Return the email kinds the orders' own history produced, in the ledger's order.

    Only these may be sent again: a kind with no ledger row (say "cancelled" on a
    delivered order) would tell the customer something that never happened.
    """
    produced = set(
        EmailNotification.objects.filter(order__in=orders, is_resend=False)
        .values_list("kind", flat=True)
        .distinct()
    )
    return [kind for kind in EmailNotification.Kind.values if kind in produced]


def _never_sent_reason(original: EmailNotification) -> Note:
    if original.status == EmailNotification.Status.SUPPRESSED:
        return note(
            gettext_noop("it was suppressed: %(reason)s"), reason=original.suppressed_reason
        )
    return note(
        gettext_noop("sending it failed %(n)s times (%(error)s)."),
        n=original.attempts,
        error=original.error or "-",
    )


def _on_its_way(original: EmailNotification) -> bool:
    """Whether the ledger will still send the original (queued, sending, or retried)."""
    if original.status in (EmailNotification.Status.QUEUED, EmailNotification.Status.SENDING):
        return True
    return (
        original.status == EmailNotification.Status.FAILED
        and original.attempts < notifications.MAX_SEND_ATTEMPTS
    )


def email_resend(*, order: Order, kind: str, actor: Any) -> StaffResult:
    """Send one email of the order's history again, logged as a deliberate resend.

    Refused for a kind the order never produced, and while the original is still on its
    way (a resend then would mail the customer twice). The result's message says what
    really happened: queued again, or queued for the first time because the original
    was never sent.
    """

    label = EmailNotification.Kind(kind).label if kind in EmailNotification.Kind.values else kind
    original = EmailNotification.objects.filter(order=order, kind=kind, is_resend=False).first()
    if original is None:
        raise StaffActionError(
            _("No %(kind)s email to resend: this order never had one.") % {"kind": label},
            code="not_produced",
        )
    if _on_its_way(original):
        raise StaffActionError(
            _(
                "The %(kind)s email is not resent: it has not been sent yet and is still "
                "on its way (status: %(status)s)."
            )
            % {"kind": label, "status": original.get_status_display()},
            code="not_sent_yet",
        )
    notification = notifications.email_resend(order=order, kind=kind, actor=_actor(actor))
    to = notification.to_email
    kind_label = choice(EmailNotification.Kind, kind)
    if notification.status == EmailNotification.Status.SUPPRESSED:
        # A resend is only ever suppressed for want of an address (notifications.email_resend).
        message = note(
            gettext_noop("The %(kind)s email was not resent: %(reason)s"),
            kind=kind_label,
            reason=note(notifications.NO_ADDRESS),
        )
    elif original.status == EmailNotification.Status.SENT:
        message = note(
            gettext_noop("The %(kind)s email is queued again for %(to)s."), kind=kind_label, to=to
        )
    else:
        message = note(
            gettext_noop(
                "The %(kind)s email is queued for %(to)s. It was never sent before: %(why)s"
            ),
            kind=kind_label,
            to=to,
            why=_never_sent_reason(original),
        )
    _record_staff(
        message=message,
        actor=actor,
        order=order,
        action="resend_email",
        kind=kind,
        notification_id=notification.pk,
        first_sent=original.status == EmailNotification.Status.SENT,
    )
    return StaffResult(message=str(message), order=order)


# --- webhooks -----------------------------------------------------------------------------


def webhook_replay(*, event: WebhookEvent, actor: Any) -> WebhookEvent:
    """Process a stored webhook event again, now, with the worker's own service.

    Events whose signature failed are refused: replaying one would let a forged body
    change an order.
    """

    order = (
        sync.order_find_local(
            spectra_id=event.spectra_order_id, is_test=spectra_environment_is_test()
        )
        if event.spectra_order_id
        else None
    )
    what = note(gettext_noop("Replaying webhook event %(id)s"), id=event.pk)
    if not event.signature_valid:
        raise StaffActionError(
            _("%(what)s refused: its signature did not verify.") % {"what": what}
        )
    try:
        outcome = inbox.webhook_event_process(webhook_event_id=event.pk, force=True)
    except Exception as err:
        # The service has recorded the error and traceback on the row already.
        raise _refused(what=what, err=err, actor=actor, order=order) from err
    event.refresh_from_db()
    _record_staff(
        message=note(
            gettext_noop("Replayed webhook event %(id)s (%(type)s): %(outcome)s."),
            id=event.pk,
            type=event.event_type,
            outcome=choice(WebhookEvent.Outcome, event.outcome),
        ),
        actor=actor,
        order=order,
        action="replay_webhook",
        webhook_event_id=event.pk,
        outcome=outcome,
    )
    return event


# --- checkout attempts --------------------------------------------------------------------


def attempt_is_stuck(attempt: CheckoutAttempt, *, now: dt.datetime | None = None) -> bool:
    """Return whether the attempt needs a person: review, or paid/submitting for too long."""
    return CheckoutAttempt.objects.filter(stuck_attempts_q(now=now), pk=attempt.pk).exists()


STUCK_AFTER = dt.timedelta(minutes=15)


def stuck_attempts_q(*, now: dt.datetime | None = None) -> Q:
    """Return the filter for attempts that need a person (admin's "stuck" filter)."""
    cutoff = (now or timezone.now()) - STUCK_AFTER
    return Q(state=CheckoutAttempt.State.NEEDS_REVIEW) | Q(
        state__in=[CheckoutAttempt.State.PAYMENT_AUTHORIZED, CheckoutAttempt.State.SUBMITTING],
        updated_at__lt=cutoff,
    )


def attempt_recover_now(*, attempt: CheckoutAttempt, actor: Any) -> StaffResult:
    """Run the recovery sweep's logic on one attempt now: adopt, place or release."""

    what = note(gettext_noop("Recovering attempt %(id)s"), id=str(attempt.public_id))
    try:
        # attempt_recover records its own API calls on the attempt's timeline.
        result = orders.attempt_recover(attempt=attempt)
    except (ProviderError, CheckoutError) as err:
        raise _refused(what=what, err=err, actor=actor, order=None, attempt=attempt) from err
    attempt.refresh_from_db()
    if result is None:
        message = note(
            gettext_noop("Nothing to recover: the attempt is %(state)s."),
            state=choice(CheckoutAttempt.State, attempt.state),
        )
    elif result.status == "placed" and result.order is not None:
        message = note(
            gettext_noop("Recovered: order %(number)s."), number=result.order.order_number
        )
    else:
        message = note(
            gettext_noop("Recovery result: %(status)s. %(message)s"),
            status=result.status,
            message=result.message,
        )
    order = result.order if result is not None else None
    _record_staff(
        message=message,
        actor=actor,
        attempt=attempt,
        order=order,
        action="recover",
        result=result.status if result else "",
    )
    return StaffResult(message=str(message), order=order, attempt=attempt)


def attempt_release_payment(*, attempt: CheckoutAttempt, actor: Any) -> StaffResult:
    """Cancel the attempt's PaymentIntent (release the card hold) when no order exists.

    Refused when an order exists locally or in Spectra for the cart: that payment is
    the order's, and "recover now" adopts it instead.
    """

    if not attempt.payment_intent_id:
        raise StaffActionError(_("This attempt has no payment to release."))
    if Order.objects.filter(attempt=attempt).exists():
        raise StaffActionError(_("This attempt has an order; its payment cannot be released."))
    if attempt.cart_id:
        try:
            with _recording_api_calls(attempt=attempt):
                # The lookup recovery uses (cart, PaymentIntent, or email, total and items
                # in the time window). "unknown" does not stop staff: they decided.
                found = orders.order_lookup(attempt=attempt, client=get_spectra_client())
            existing = found.order if found.verdict == "found" else None
        except SpectraNotFound:
            existing = None
        except SpectraError as err:
            raise _refused(
                what=note(gettext_noop("Checking Spectra for an order")),
                err=err,
                actor=actor,
                order=None,
                attempt=attempt,
            ) from err
        if existing is not None:
            raise StaffActionError(
                _(
                    'Spectra has order %(number)s for this cart: use "recover now" to adopt '
                    "it instead of releasing its payment."
                )
                % {"number": existing.order_number}
            )
    try:
        info = payments.payment_intent_cancel(payment_intent_id=attempt.payment_intent_id)
    except ProviderError as err:
        raise _refused(
            what=note(gettext_noop("Releasing payment %(pi)s"), pi=attempt.payment_intent_id),
            err=err,
            actor=actor,
            order=None,
            attempt=attempt,
        ) from err
    if info.status != "canceled":
        refused = note(
            gettext_noop("The payment could not be released: Stripe says it is %(status)s."),
            status=info.status,
        )
        _record_staff(message=refused, actor=actor, attempt=attempt, ok=False)
        raise StaffActionError(str(refused))
    with transaction.atomic():
        attempt = CheckoutAttempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.state != CheckoutAttempt.State.PLACED:
            attempt.state = CheckoutAttempt.State.FAILED
            attempt.failure_code = "released_by_staff"
            attempt.failure_message = _("Payment released by staff.")
            attempt.finished_at = timezone.now()
            attempt.save(
                update_fields=[
                    "state",
                    "failure_code",
                    "failure_message",
                    "finished_at",
                    "updated_at",
                ]
            )
        released = note(
            gettext_noop("Payment %(pi)s released (cancelled in Stripe)."),
            pi=attempt.payment_intent_id,
        )
        _record_staff(
            message=released,
            actor=actor,
            attempt=attempt,
            action="release_payment",
            payment_intent_id=attempt.payment_intent_id,
        )
        OrderEvent.objects.create(
            attempt=attempt,
            kind=OrderEvent.Kind.PAYMENT,
            data={"payment_intent_id": attempt.payment_intent_id, "status": info.status},
            actor=_actor(actor),
            **released.fields(),
        )
    logger.info("Attempt %s: payment %s released by staff", attempt.public_id, info.id)
    return StaffResult(message=str(released), attempt=attempt)
