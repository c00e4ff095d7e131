"""checkout.services.rows on PostgreSQL: a state move and its record, both or neither, in
one statement; every kind of value a chained insert carries reads back as it was."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from decimal import Decimal

import pytest
from django.db import DataError, connection

from checkout.models import CheckoutAttempt, OrderEvent
from checkout.services.rows import (
    Add,
    Chain,
    _json_value,
    select_first,
    update_and_insert,
    update_returning,
)

pytestmark = pytest.mark.django_db

State = CheckoutAttempt.State


def _attempt() -> CheckoutAttempt:
    return CheckoutAttempt.objects.create(cart_id="c-rows", state=State.COLLECTING)


def _entries(attempt: CheckoutAttempt, *messages: str) -> list[OrderEvent]:
    return [
        OrderEvent(
            attempt=attempt,
            kind=OrderEvent.Kind.PAYMENT,
            message=message,
            data={"amount": str(Decimal("12.50")), "n": n, "none": None},
        )
        for n, message in enumerate(messages)
    ]


def test_a_matching_move_writes_its_rows_in_order_with_their_keys() -> None:
    attempt = _attempt()
    rows = _entries(attempt, "first", "second")
    moved = update_and_insert(
        CheckoutAttempt,
        {"state": State.PAYMENT_AUTHORIZED, "payment_intent_id": "pi_1"},
        {"id": attempt.pk, "state": (State.COLLECTING,)},
        rows,
    )
    assert moved
    attempt.refresh_from_db()
    assert (attempt.state, attempt.payment_intent_id) == (State.PAYMENT_AUTHORIZED, "pi_1")
    stored = list(OrderEvent.objects.filter(attempt=attempt).order_by("pk"))
    assert [e.pk for e in stored] == [r.pk for r in rows]
    assert [e.message for e in stored] == ["first", "second"]
    assert stored[1].data == {"amount": "12.50", "n": 1, "none": None}
    assert stored[0].order_id is None
    assert stored[0].created_at is not None


def test_a_lost_move_writes_nothing() -> None:
    attempt = _attempt()
    CheckoutAttempt.objects.filter(pk=attempt.pk).update(state=State.PLACED)
    rows = _entries(attempt, "too late")
    moved = update_and_insert(
        CheckoutAttempt,
        {"state": State.PAYMENT_AUTHORIZED},
        {"id": attempt.pk, "state": (State.COLLECTING,)},
        rows,
    )
    assert not moved
    assert rows[0].pk is None
    assert not OrderEvent.objects.filter(attempt=attempt).exists()
    attempt.refresh_from_db()
    assert attempt.state == State.PLACED


@pytest.mark.django_db(transaction=True)  # autocommit: the statement alone decides
def test_a_value_too_long_for_its_column_is_refused_not_truncated() -> None:
    attempt = _attempt()
    entry = OrderEvent(attempt=attempt, kind="x" * 40, message="m", data={})
    with pytest.raises(DataError):
        update_and_insert(
            CheckoutAttempt,
            {"payment_intent_id": "pi_2"},
            {"id": attempt.pk, "state": (State.COLLECTING,)},
            [entry],
        )
    attempt.refresh_from_db()
    assert attempt.payment_intent_id == ""  # one statement: the move went with it


@pytest.mark.django_db(transaction=True)
def test_of_two_racing_moves_one_wins_and_one_record_is_written() -> None:
    attempt = _attempt()
    start = threading.Barrier(8)
    wins: list[bool] = []

    def race(n: int) -> None:
        try:
            start.wait(timeout=10)
            wins.append(
                update_and_insert(
                    CheckoutAttempt,
                    {"state": State.PAYMENT_AUTHORIZED, "payment_intent_id": f"pi_{n}"},
                    {"id": attempt.pk, "state": (State.COLLECTING,)},
                    _entries(attempt, f"try {n}"),
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(wins) == [False] * 7 + [True]
    attempt.refresh_from_db()
    events = list(OrderEvent.objects.filter(attempt=attempt))
    assert len(events) == 1
    assert events[0].message == f"try {attempt.payment_intent_id.removeprefix('pi_')}"


def test_a_chained_insert_carries_every_kind_of_value_exactly() -> None:
    # Values travel as one JSON parameter per step, read back by each column's input
    # function: strings that need escaping, exact decimals, instants with their
    # microseconds and offset, UUIDs, booleans, JSON (nested, unicode, null) and NULL.
    tricky = 'quote " backslash \\ newline \n tab \t unicode é 🛒 nul-free'
    instant = dt.datetime(
        2026, 11, 28, 9, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-6))
    )
    public_id = uuid.uuid4()
    attempt = CheckoutAttempt(
        public_id=public_id,
        cart_id="c-json",
        state=State.PAYMENT_AUTHORIZED,
        email="ada@example.com",
        failure_message=tricky,
        billing_same_as_shipping=False,
        shipping_address={"name": tricky, "lines": ["1", None, {"deep": 1.5}], "ok": True},
        billing_address={},
        subtotal=Decimal("1234.50"),
        shipping_total=Decimal("0.00"),
        tax_estimate=Decimal("0.07"),
        payment_tries=3,
        authorized_at=instant,
        submitted_at=None,
    )
    chain = Chain()
    chain.insert("added", [attempt])
    assert chain.run()["added"] == [attempt.pk]
    stored = CheckoutAttempt.objects.get(pk=attempt.pk)
    assert stored.public_id == public_id
    assert stored.failure_message == tricky
    assert stored.billing_same_as_shipping is False
    assert stored.shipping_address == {
        "name": tricky,
        "lines": ["1", None, {"deep": 1.5}],
        "ok": True,
    }
    assert stored.billing_address == {}
    assert (stored.subtotal, stored.shipping_total, stored.tax_estimate) == (
        Decimal("1234.50"),
        Decimal("0.00"),
        Decimal("0.07"),
    )
    assert str(stored.subtotal) == "1234.50"
    assert stored.payment_tries == 3
    assert stored.authorized_at == instant
    assert stored.submitted_at is None
    assert stored.created_at == attempt.created_at  # auto_now_add, set by the insert


@pytest.mark.parametrize("value", [b"bytes", dt.timedelta(days=1), [1, 2]])
def test_a_value_a_chained_insert_cannot_carry_is_refused_by_name(value: object) -> None:
    # No model of ours has such a column (binary, duration, array); a new one is told so
    # before anything is sent, rather than stored as some text.
    with pytest.raises(TypeError, match=type(value).__name__):
        _json_value(value)


def _same_as_the_orm(mine: CheckoutAttempt | None) -> None:
    assert mine is not None
    orm_row = CheckoutAttempt.objects.get(pk=mine.pk)
    for field in CheckoutAttempt._meta.concrete_fields:
        ours, theirs = getattr(mine, field.attname), getattr(orm_row, field.attname)
        assert (ours, type(ours)) == (theirs, type(theirs)), field.attname
    assert not mine._state.adding


def test_rows_read_without_the_orm_equal_the_orms_value_for_value_and_type() -> None:
    # select_first and update_returning build instances from the row themselves (the
    # converters looked up once): each field must come back as the ORM gives it, JSON
    # parsed, decimals exact, instants aware, UUIDs as UUIDs.
    attempt = CheckoutAttempt.objects.create(
        cart_id="c-read",
        state=State.COLLECTING,
        shipping_address={"name": "Zoë", "lines": [1, None]},
        subtotal=Decimal("12.50"),
        authorized_at=dt.datetime(2026, 11, 28, 9, 30, 15, 123456, tzinfo=dt.UTC),
    )
    read = select_first(CheckoutAttempt, {"public_id": attempt.public_id})
    _same_as_the_orm(read)
    assert read is not None
    assert read.shipping_address == {"name": "Zoë", "lines": [1, None]}
    claimed = update_returning(CheckoutAttempt, {"payment_tries": Add(1)}, {"id": attempt.pk})
    _same_as_the_orm(claimed)
    assert claimed is not None
    assert claimed.payment_tries == 1
