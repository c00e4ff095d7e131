"""order_record: one transaction writes the order row, its timeline in order, the
confirmation email's ledger and outbox rows, and settles the attempt; anything unusual (an
order recorded before, a charge above the authorization) is decided in the same place.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from checkout import signals
from checkout.models import CheckoutAttempt, EmailNotification, Order, OrderEvent, OutboxMessage
from checkout.services import orders
from checkout.services.orders import timeline
from checkout.services.spectra import Order as RemoteOrder
from tests.integration.webhooks.conftest import ADDRESS

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

State = CheckoutAttempt.State


def _remote(n: int, *, charged: float = 117.87, email: str = "ada@example.com") -> RemoteOrder:
    return RemoteOrder.from_api(
        {
            "id": 5000 + n,
            "order_number": f"ORD-20261128-{n:04d}",
            "status": "pending",
            "payment_status": "captured",
            "grand_total": 117.87,
            "subtotal": 100.0,
            "shipping_total": 8.99,
            "tax_total": 8.88,
            "amount_charged": charged,
            "cart_id": f"cart-{n}",
            "email": email,
            "billing": {**ADDRESS, "email": email},
            "shipping": ADDRESS,
            "shipping_method": {"carrier": "UPS", "service": "UPS Ground", "cost": 8.99},
            "items": [{"sku": "X-1", "name": "Phone", "quantity": 1, "unit_price": 100.0}],
            "payment_intent_id": f"pi_{n}",
            "created_at": "2026-11-28T10:00:00+00:00",
        }
    )


def _attempt(n: int, *, state: str = State.SUBMITTING) -> CheckoutAttempt:
    attempt = CheckoutAttempt.objects.create(
        cart_id=f"cart-{n}",
        state=state,
        email="ada@example.com",
        shipping_address=ADDRESS,
        payment_intent_id=f"pi_{n}",
        amount_due=Decimal("117.87"),
    )
    # Its timeline so far (written before placement) moves to the order.
    OrderEvent.objects.create(attempt=attempt, kind=OrderEvent.Kind.PAYMENT, message="Card ok.")
    return attempt


def _record(remote: RemoteOrder, attempt: CheckoutAttempt, *, created: bool = True) -> Order:
    """Record as placement does: the POST /orders call is still pending on the timeline."""
    call = OrderEvent(
        attempt=attempt,
        kind=OrderEvent.Kind.API_CALL,
        message="POST /api/v1/orders → 201",
        data={"method": "POST", "status": 201},
    )
    token = timeline._pending_calls.set([call])
    try:
        order, was_created = orders.order_record(remote=remote, attempt=attempt)
    finally:
        timeline._pending_calls.reset(token)
    assert was_created is created
    return order


def _written(order: Order) -> dict[str, Any]:
    """What the order's recording wrote, without its ids and clocks."""
    order.refresh_from_db()
    assert order.attempt_id is not None
    attempt = CheckoutAttempt.objects.get(pk=order.attempt_id)
    ledger = EmailNotification.objects.get(order=order)
    outbox = list(
        OutboxMessage.objects.filter(kwargs__notification_id=ledger.pk).values_list(
            "task_name", "kwargs"
        )
    )
    ids = {"notification_id": ledger.pk, "spectra_id": order.spectra_id}
    timeline = [
        (
            e.kind,
            e.message.replace(order.order_number, "<number>"),
            {k: (v == ids[k] if k in ids else v) for k, v in e.data.items()},
            e.attempt_id == attempt.pk,
        )
        for e in order.events.all()
    ]
    # Ids, the API's raw answer (it holds them) and clocks differ between two orders.
    skip = {"id", "spectra_id", "order_number", "attempt", "cart_id", "payment_intent_id", "raw"}
    return {
        "order": {
            f.name: getattr(order, f.attname)
            for f in Order._meta.concrete_fields
            if f.name not in skip and f.name not in ("created_at", "updated_at", "last_synced_at")
        },
        "attempt": (attempt.state, attempt.failure_code, attempt.finished_at is not None),
        "ledger": (ledger.kind, ledger.status, ledger.to_email, ledger.suppressed_reason),
        "outbox": [(task, kwargs == {"notification_id": ledger.pk}) for task, kwargs in outbox],
        "timeline": timeline,
        "attempt_events": attempt.events.filter(order__isnull=True).count(),
    }


def test_recording_writes_the_order_its_timeline_and_its_email_once(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CHECKOUT_SEND_TEST_ORDER_EMAILS = True
    placed: list[Order] = []

    def receiver(sender: Any, order: Order, **kwargs: Any) -> None:
        placed.append(order)

    signals.order_placed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            order = _record(_remote(1), _attempt(1))
    finally:
        signals.order_placed.disconnect(receiver)
    written = _written(order)
    assert written["attempt"] == (State.PLACED, "", True)
    assert written["order"]["grand_total"] == Decimal("117.87")
    assert written["order"]["email"] == "ada@example.com"
    assert written["outbox"] == [("checkout.tasks.email_send", True)]
    assert [t[:2] for t in written["timeline"]] == [
        ("payment", "Card ok."),
        ("api_call", "POST /api/v1/orders → 201"),
        ("attempt", "Order <number> placed."),
        ("email", "Order confirmation email queued for ada@example.com."),
        # Tests run tasks eagerly: the relay sent it once the recording committed.
        ("email", "Order confirmation email sent to ada@example.com."),
    ]
    assert written["attempt_events"] == 0
    assert [o.pk for o in placed] == [order.pk]


def test_a_suppressed_email_has_no_outbox_row(settings: Any) -> None:
    settings.CHECKOUT_EMAIL_KINDS = ("shipped",)
    written = _written(_record(_remote(4), _attempt(4)))
    assert written["ledger"][1] == EmailNotification.Status.SUPPRESSED
    assert written["outbox"] == []


def test_an_order_recorded_before_is_not_written_twice() -> None:
    """A webhook recorded the order first: nothing is written twice, the attempt links."""
    remote = _remote(6)
    existing, created = orders.order_record(remote=remote, attempt=None)
    assert created
    attempt = _attempt(6)
    order, created = orders.order_record(remote=remote, attempt=attempt)
    assert not created
    assert order.pk == existing.pk
    assert order.attempt_id == attempt.pk
    assert EmailNotification.objects.filter(order=order).count() == 1
    attempt.refresh_from_db()
    assert attempt.state == State.PLACED


def test_a_charge_above_the_authorization_is_flagged() -> None:
    attempt = _attempt(7)
    order, created = orders.order_record(remote=_remote(7, charged=150.0), attempt=attempt)
    assert created
    attempt.refresh_from_db()
    assert (attempt.state, attempt.failure_code) == (
        State.NEEDS_REVIEW,
        "amount_charged_exceeds_authorization",
    )
    assert order.events.filter(message__startswith="Needs review").exists()


def test_an_order_recorded_first_by_the_webhook_keeps_the_placing_call_once() -> None:
    """The placement's INSERT conflicts and its transaction is tried again: the POST
    /orders call it recorded lands once on the order's timeline, and the email is not
    scheduled a second time."""
    remote = _remote(8)
    existing, _created = orders.order_record(remote=remote, attempt=None)
    attempt = _attempt(8)
    order = _record(remote, attempt, created=False)
    assert (order.pk, order.attempt_id) == (existing.pk, attempt.pk)
    messages = list(order.events.values_list("message", flat=True))
    assert messages.count("POST /api/v1/orders → 201") == 1
    assert "Card ok." in messages
    assert EmailNotification.objects.filter(order=order).count() == 1
    assert Order.objects.filter(spectra_id=remote.id).count() == 1


def test_a_second_order_for_an_attempt_is_recorded_unlinked_and_flagged() -> None:
    """The attempt already has its order; another one the API names for it is recorded
    (it exists), linked to no attempt, and the attempt goes to staff."""
    attempt = _attempt(9)
    first = _record(_remote(9), attempt)
    attempt.refresh_from_db()
    attempt.state = State.SUBMITTING
    attempt.save(update_fields=["state"])
    second, created = orders.order_record(remote=_remote(10), attempt=attempt)
    assert created
    assert second.pk != first.pk
    assert second.attempt_id is None
    first.refresh_from_db()
    assert first.attempt_id == attempt.pk
    attempt.refresh_from_db()
    assert (attempt.state, attempt.failure_code) == (State.NEEDS_REVIEW, "order_linked_elsewhere")
    assert second.events.filter(message__startswith="Needs review").exists()
