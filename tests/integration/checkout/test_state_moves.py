"""A state move of an attempt is a compare-and-set: of racing moves one wins, and only a
won move writes its timeline entry (with the API calls recorded before it)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from checkout.models import CheckoutAttempt, OrderEvent
from checkout.services.orders import attempts, timeline

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

State = CheckoutAttempt.State


def _attempt() -> CheckoutAttempt:
    return CheckoutAttempt.objects.create(cart_id="c-moves", state=State.COLLECTING, owner="o")


def _entry(attempt: CheckoutAttempt, message: str) -> OrderEvent:
    return OrderEvent(attempt=attempt, kind=OrderEvent.Kind.PAYMENT, message=message, data={})


def test_a_won_move_writes_the_pending_calls_then_its_entry() -> None:
    attempt = _attempt()
    call = OrderEvent(attempt=attempt, kind=OrderEvent.Kind.API_CALL, message="GET", data={})
    token = timeline._pending_calls.set([call])
    try:
        moved = attempts._move(
            attempt,
            from_states=(State.COLLECTING,),
            record=_entry(attempt, "authorized"),
            state=State.PAYMENT_AUTHORIZED,
            payment_intent_id="pi_1",
        )
    finally:
        timeline._pending_calls.reset(token)
    assert moved
    assert (attempt.state, attempt.payment_intent_id) == (State.PAYMENT_AUTHORIZED, "pi_1")
    attempt.refresh_from_db()
    assert attempt.state == State.PAYMENT_AUTHORIZED
    stored = list(OrderEvent.objects.filter(attempt=attempt).order_by("pk"))
    assert [e.message for e in stored] == ["GET", "authorized"]


def test_a_lost_move_writes_nothing_and_shows_the_winners_state() -> None:
    attempt = _attempt()
    CheckoutAttempt.objects.filter(pk=attempt.pk).update(state=State.PLACED)
    moved = attempts._move(
        attempt,
        from_states=(State.COLLECTING,),
        record=_entry(attempt, "too late"),
        state=State.PAYMENT_AUTHORIZED,
    )
    assert not moved
    assert attempt.state == State.PLACED
    assert not OrderEvent.objects.filter(attempt=attempt).exists()


@pytest.mark.django_db(transaction=True)
def test_of_racing_moves_one_wins_and_one_entry_is_written() -> None:
    attempt = _attempt()
    start = threading.Barrier(8)
    wins: list[bool] = []

    def race(n: int) -> None:
        try:
            start.wait(timeout=10)
            mine = CheckoutAttempt.objects.get(pk=attempt.pk)
            wins.append(
                attempts._move(
                    mine,
                    from_states=(State.COLLECTING,),
                    record=_entry(mine, f"try {n}"),
                    state=State.PAYMENT_AUTHORIZED,
                    payment_intent_id=f"pi_{n}",
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
