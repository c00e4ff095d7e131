"""The sale-day rush's report logic (bench/loadtest/report.py): percentiles, when a stage
holds, which rush is recorded, and the books that must balance (no server, no database)."""

from __future__ import annotations

from dataclasses import replace

from bench.loadtest.report import (
    Ledger,
    Sample,
    Stage,
    largest_holding,
    ledger_problems,
    next_users,
    percentile,
    step_figures,
)


def _samples(step: str, times: list[float], *, failed: int = 0) -> list[Sample]:
    return [Sample(at=float(i), step=step, ms=ms, ok=i >= failed) for i, ms in enumerate(times)]


def test_percentiles_are_nearest_rank_so_a_slow_tail_shows() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 50) == 10
    assert percentile(values, 95) == 19
    assert percentile([5.0], 95) == 5
    assert percentile([], 95) == 0
    # Two slow requests in twenty are the p95; one is not.
    assert percentile([100.0] * 18 + [5000.0] * 2, 95) == 5000
    assert percentile([100.0] * 19 + [5000.0], 95) == 100
    # Order of arrival does not matter.
    assert percentile([5000.0, 100.0, 100.0], 50) == 100


def test_step_figures_per_step_in_the_shoppers_order() -> None:
    samples = [
        *_samples("place", [300.0, 500.0], failed=1),
        *_samples("storefront", [10.0, 20.0, 30.0]),
        *_samples("a step of its own", [1.0]),
        *_samples("cart", [40.0]),
    ]
    figures = step_figures(samples)
    assert [f.step for f in figures] == ["storefront", "cart", "place", "a step of its own"]
    place = figures[2]
    assert (place.requests, place.errors, place.p50_ms, place.p95_ms) == (2, 1, 300, 500)
    assert figures[0].p50_ms == 20


def test_a_stage_holds_with_every_p95_at_most_2_s_and_no_error() -> None:
    fast = _samples("cart", [100.0] * 20)
    assert Stage(users=10, seconds=10, samples=fast).holds
    at_limit = _samples("pay", [100.0] * 18 + [2000.0] * 2)
    assert Stage(users=10, seconds=10, samples=fast + at_limit).holds
    over = _samples("place", [100.0] * 18 + [2001.0] * 2)
    stage = Stage(users=10, seconds=10, samples=fast + over)
    assert not stage.holds
    assert stage.worst_p95_ms == 2001
    one_error = _samples("cart", [100.0] * 20, failed=1)
    assert not Stage(users=10, seconds=10, samples=one_error).holds
    assert not Stage(users=10, seconds=10, samples=[]).holds  # nothing measured, nothing held
    assert Stage(users=10, seconds=4, samples=fast).throughput == 5


def test_the_recorded_rush_is_the_largest_stage_that_held() -> None:
    good = _samples("cart", [100.0] * 20)
    slow = _samples("cart", [3000.0] * 20)
    stages = [
        Stage(users=20, seconds=10, samples=good),
        Stage(users=40, seconds=10, samples=good),
        Stage(users=80, seconds=10, samples=slow),
    ]
    best = largest_holding(stages)
    assert best is not None
    assert best.users == 40
    assert largest_holding(stages[2:]) is None


BALANCED = Ledger(
    placed_by_shoppers=12,
    orders=12,
    orders_paid_by=12,
    sandbox_orders=12,
    sandbox_captures=12,
    stripe_captured=12,
    confirmation_emails=12,
    emails=12,
)


def test_balanced_books_have_no_problem() -> None:
    assert ledger_problems(BALANCED) == []


def test_orders_and_captures_must_agree_on_every_side() -> None:
    for name in (
        "placed_by_shoppers",
        "orders",
        "sandbox_orders",
        "sandbox_captures",
        "stripe_captured",
    ):
        ledger = replace(BALANCED, **{name: 13})
        problems = ledger_problems(ledger)
        assert any("orders and captures differ" in p for p in problems), name


def test_a_double_order_is_flagged_even_when_the_counts_agree() -> None:
    # 12 orders everywhere, but two of ours were paid by one PaymentIntent.
    problems = ledger_problems(replace(BALANCED, orders_paid_by=11))
    assert problems == ["double order: 12 orders paid by 11 PaymentIntents"]


def test_every_order_gets_one_confirmation_email() -> None:
    assert ledger_problems(replace(BALANCED, confirmation_emails=11))
    assert ledger_problems(replace(BALANCED, confirmation_emails=13))
    # Other emails (shipped, cancelled) do not count against the confirmations.
    assert ledger_problems(replace(BALANCED, emails=20)) == []


def _stage(users: int, *, holds: bool) -> Stage:
    return Stage(users=users, seconds=10, samples=_samples("cart", [100.0 if holds else 3000.0]))


def test_the_ramp_doubles_while_it_holds_then_tries_halfway_once() -> None:
    ramp = (5, 10, 20, 40, 80, 160)
    assert next_users([], ramp) == 5
    assert next_users([_stage(5, holds=True), _stage(10, holds=True)], ramp) == 20
    ran = [_stage(5, holds=True), _stage(10, holds=True), _stage(20, holds=True)]
    assert next_users([*ran, _stage(40, holds=False)], ramp) == 30
    assert next_users([*ran, _stage(40, holds=False), _stage(30, holds=True)], ramp) is None
    assert next_users([*ran, _stage(40, holds=False), _stage(30, holds=False)], ramp) is None
    # Too close to split, nothing held, or the ramp's top held: stop.
    assert next_users([_stage(5, holds=True), _stage(8, holds=False)], ramp) is None
    assert next_users([_stage(5, holds=False)], ramp) is None
    assert next_users([_stage(u, holds=True) for u in ramp], ramp) is None
