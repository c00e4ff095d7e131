"""What staff may do to an order, decided by the order's own state and history.

Service tests: an action that does not apply is refused before any API call, and an
email is resent only when the order's history produced it, with a message that says
what really happened.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import responses
from django.contrib.auth.models import User

from checkout.models import EmailNotification, Order, OrderEvent
from checkout.services import staff
from checkout.services.notifications import MAX_SEND_ATTEMPTS

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

KINDS = EmailNotification.Kind


def make_order(status: str = "pending", **fields: Any) -> Order:
    defaults: dict[str, Any] = {
        "spectra_id": 9100 + Order.objects.count(),
        "order_number": f"ORD-20260515-{9100 + Order.objects.count()}",
        "email": "ada@example.com",
        "customer_name": "Ada Lovelace",
        "status": status,
        "grand_total": Decimal("99.00"),
        "shipping_method": {"carrier": "FedEx", "service": "FedEx Ground"},
    }
    return Order.objects.create(**{**defaults, **fields})


def ledger(order: Order, kind: str, status: str = "sent", **fields: Any) -> EmailNotification:
    return EmailNotification.objects.create(
        order=order, kind=kind, to_email=order.email, status=status, **fields
    )


@pytest.fixture
def boss(django_user_model: type[User]) -> User:
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-123")


@pytest.mark.parametrize(
    ("status", "applies"),
    [
        ("pending", {"ship", "cancel"}),
        ("processing", {"ship", "cancel"}),
        ("shipped", {"deliver"}),
        ("delivered", set()),
        ("cancelled", set()),
        ("refunded", set()),
    ],
)
def test_each_action_applies_only_from_the_statuses_it_can_move(
    status: str, applies: set[str]
) -> None:
    order = make_order(status)
    found = {
        name
        for name in ("ship", "deliver", "cancel")
        if staff.order_action_applies(order=order, action=name)
    }
    assert found == applies
    assert staff.order_action_applies(order=order, action="resync")  # always


@pytest.mark.parametrize(
    ("status", "call"),
    [
        ("shipped", "ship"),
        ("delivered", "ship"),
        ("cancelled", "ship"),
        ("pending", "deliver"),
        ("delivered", "deliver"),
        ("shipped", "cancel"),
        ("delivered", "cancel"),
    ],
)
@responses.activate  # any HTTP call would fail the test: none is registered
def test_an_action_that_does_not_apply_is_refused_without_calling_spectra(
    status: str, call: str, boss: User
) -> None:
    order = make_order(status, tracking_number="1ZOLD", shipping_carrier="UPS")
    run = {
        "ship": lambda: staff.order_ship(
            order=order, tracking_number="1ZNEW", carrier="UPS", actor=boss
        ),
        "deliver": lambda: staff.order_deliver(order=order, actor=boss),
        "cancel": lambda: staff.order_cancel(order=order, actor=boss),
    }[call]
    with pytest.raises(staff.StaffActionError) as refused:
        run()
    assert refused.value.code == "not_applicable"
    assert f"its status is {Order.Status(status).label}" in refused.value.message
    assert len(responses.calls) == 0
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (status, "1ZOLD")
    assert not EmailNotification.objects.filter(order=order).exists()


def test_only_kinds_the_history_produced_are_resendable() -> None:
    order = make_order("delivered")
    assert staff.email_kinds_produced(orders=[order]) == []
    ledger(order, KINDS.DELIVERED)
    ledger(order, KINDS.CONFIRMATION)
    ledger(order, KINDS.SHIPPED)
    ledger(order, KINDS.SHIPPED, is_resend=True)  # a resend is not history of its own
    other = make_order("cancelled")
    ledger(other, KINDS.CANCELLED)
    assert staff.email_kinds_produced(orders=[order]) == ["confirmation", "shipped", "delivered"]
    assert staff.email_kinds_produced(orders=Order.objects.all()) == [
        "confirmation",
        "shipped",
        "delivered",
        "cancelled",
    ]


def test_resending_an_email_the_order_never_had_is_refused(boss: User) -> None:
    order = make_order("delivered")
    ledger(order, KINDS.CONFIRMATION)
    ledger(order, KINDS.DELIVERED)
    with pytest.raises(staff.StaffActionError) as refused:
        staff.email_resend(order=order, kind=KINDS.CANCELLED, actor=boss)
    assert refused.value.message == "No Cancelled email to resend: this order never had one."
    assert not EmailNotification.objects.filter(order=order, kind=KINDS.CANCELLED).exists()


def test_a_sent_email_is_queued_again(boss: User) -> None:
    order = make_order("pending")
    ledger(order, KINDS.CONFIRMATION, subject="Order confirmed")
    result = staff.email_resend(order=order, kind=KINDS.CONFIRMATION, actor=boss)
    assert result.message == "The Order confirmation email is queued again for ada@example.com."
    resend = EmailNotification.objects.get(order=order, is_resend=True)
    assert (resend.kind, resend.status, resend.requested_by) == ("confirmation", "queued", boss)
    entry = OrderEvent.objects.get(order=order, kind=OrderEvent.Kind.STAFF)
    assert entry.message == result.message


def test_an_email_never_sent_says_so_when_queued(boss: User) -> None:
    order = make_order("shipped")
    ledger(
        order,
        KINDS.SHIPPED,
        status="suppressed",
        suppressed_reason="Test order: customer emails are not sent.",
    )
    result = staff.email_resend(order=order, kind=KINDS.SHIPPED, actor=boss)
    assert "queued again" not in result.message
    assert result.message == (
        "The Shipped email is queued for ada@example.com. It was never sent before: "
        "it was suppressed: Test order: customer emails are not sent."
    )

    ledger(order, KINDS.CONFIRMATION, status="failed", attempts=MAX_SEND_ATTEMPTS, error="553")
    failed = staff.email_resend(order=order, kind=KINDS.CONFIRMATION, actor=boss)
    assert "It was never sent before: sending it failed 20 times (553)." in failed.message


@pytest.mark.parametrize(("status", "attempts"), [("queued", 0), ("sending", 1), ("failed", 3)])
def test_an_email_still_on_its_way_is_not_doubled(boss: User, status: str, attempts: int) -> None:
    order = make_order("pending")
    ledger(order, KINDS.CONFIRMATION, status=status, attempts=attempts)
    with pytest.raises(staff.StaffActionError) as refused:
        staff.email_resend(order=order, kind=KINDS.CONFIRMATION, actor=boss)
    assert refused.value.code == "not_sent_yet"
    assert "has not been sent yet" in refused.value.message
    assert not EmailNotification.objects.filter(order=order, is_resend=True).exists()
