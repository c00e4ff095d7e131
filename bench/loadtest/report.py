"""The rush's figures: per-step p50/p95 and errors of a stage, whether the stage held,
and the ledger check (orders, captures and emails agree on every side, no double order).

Pure functions over recorded requests (``Sample``) and counts (``Ledger``): no network,
so the unit tests check them directly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# A stage holds when every step's p95 is at most this and nothing failed.
P95_LIMIT_MS = 2000.0

# The shopper's steps in the order a shopper meets them (``shopper.py`` names its
# requests so); anything else recorded sorts after them.
STEPS: tuple[str, ...] = (
    "storefront",
    "product",
    "add to cart",
    "cart",
    "information",
    "information POST",
    "shipping",
    "shipping POST",
    "payment",
    "payment POST",
    "pay",
    "place",
    "place (double click)",
    "confirmation",
)


@dataclass(frozen=True)
class Sample:
    """One request a shopper sent: when it started (epoch s), its step, its time, its fate."""

    at: float
    step: str
    ms: float
    ok: bool
    error: str = ""


@dataclass(frozen=True)
class StepFigures:
    step: str
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float


@dataclass
class Stage:
    """One level of the ramp: ``users`` shoppers for ``seconds``, and what they saw."""

    users: int
    seconds: float
    samples: list[Sample] = field(default_factory=list)
    journeys: int = 0  # shoppers who reached the confirmation page

    @property
    def steps(self) -> list[StepFigures]:
        return step_figures(self.samples)

    @property
    def errors(self) -> int:
        return sum(1 for s in self.samples if not s.ok)

    @property
    def worst_p95_ms(self) -> float:
        return max((f.p95_ms for f in self.steps), default=0.0)

    @property
    def throughput(self) -> float:
        """Requests per second over the stage."""
        return len(self.samples) / self.seconds if self.seconds else 0.0

    @property
    def holds(self) -> bool:
        return bool(self.samples) and self.errors == 0 and self.worst_p95_ms <= P95_LIMIT_MS


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100): a value that was measured.

    With 20 samples the p95 is the 19th smallest: two slow requests in 20 show in it.
    """
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def step_figures(samples: Iterable[Sample]) -> list[StepFigures]:
    """p50, p95, request and error counts per step, in the shopper's order."""
    by_step: dict[str, list[Sample]] = {}
    for sample in samples:
        by_step.setdefault(sample.step, []).append(sample)
    order = {name: i for i, name in enumerate(STEPS)}
    figures = []
    for step in sorted(by_step, key=lambda s: (order.get(s, len(order)), s)):
        rows = by_step[step]
        times = [s.ms for s in rows]
        figures.append(
            StepFigures(
                step=step,
                requests=len(rows),
                errors=sum(1 for s in rows if not s.ok),
                p50_ms=percentile(times, 50),
                p95_ms=percentile(times, 95),
            )
        )
    return figures


def largest_holding(stages: Sequence[Stage]) -> Stage | None:
    """The stage with the most shoppers that held (p95 <= 2 s everywhere, no error)."""
    held = [s for s in stages if s.holds]
    return max(held, key=lambda s: s.users) if held else None


def next_users(stages: Sequence[Stage], ramp: Sequence[int]) -> int | None:
    """How many shoppers the next stage has, or None to stop the search.

    Up the ramp while every stage holds; after the first that does not, one stage halfway
    between it and the last that held (when they are at least 4 shoppers apart), then stop.
    """
    if not stages:
        return ramp[0] if ramp else None
    last = stages[-1]
    if all(s.holds for s in stages):
        bigger = [u for u in ramp if u > last.users]
        return bigger[0] if bigger else None
    if any(not s.holds for s in stages[:-1]):  # the halfway stage has run
        return None
    held = [s.users for s in stages if s.holds]
    if not held:
        return None
    low, high = max(held), last.users
    return (low + high) // 2 if high - low >= 4 else None


@dataclass(frozen=True)
class Ledger:
    """What each side counted at the end of the run.

    ``placed_by_shoppers``: attempts whose place POST answered placed or pending.
    ``orders``: our Order rows; ``orders_paid_by``: their distinct PaymentIntents.
    ``sandbox_orders`` / ``sandbox_captures``: Spectra's (the sandbox's) counts.
    ``stripe_captured``: localstripe's PaymentIntents that were captured (succeeded).
    ``confirmation_emails``: order confirmation emails the worker sent.
    """

    placed_by_shoppers: int
    orders: int
    orders_paid_by: int
    sandbox_orders: int
    sandbox_captures: int
    stripe_captured: int
    confirmation_emails: int
    emails: int


def ledger_problems(ledger: Ledger) -> list[str]:
    """Every disagreement between the sides; an empty list means the books balance."""
    problems = []
    counts = {
        "orders (ours)": ledger.orders,
        "orders (Spectra)": ledger.sandbox_orders,
        "captures (Spectra)": ledger.sandbox_captures,
        "captured PaymentIntents (Stripe)": ledger.stripe_captured,
        "placed (told to shoppers)": ledger.placed_by_shoppers,
    }
    if len(set(counts.values())) > 1:
        problems.append(
            "orders and captures differ: " + ", ".join(f"{k} {v}" for k, v in counts.items())
        )
    if ledger.orders_paid_by != ledger.orders:
        problems.append(
            f"double order: {ledger.orders} orders paid by {ledger.orders_paid_by} PaymentIntents"
        )
    if ledger.confirmation_emails != ledger.orders:
        problems.append(
            f"{ledger.confirmation_emails} confirmation emails for {ledger.orders} orders"
        )
    return problems


def stage_table(stages: Sequence[Stage]) -> str:
    """A markdown table, one row per stage: shoppers, req/s, journeys, worst p95, errors."""
    lines = [
        "| shoppers | requests/s | journeys completed | worst step p95 | errors | holds |",
        "|---|---|---|---|---|---|",
    ]
    for s in stages:
        lines.append(
            f"| {s.users} | {s.throughput:.1f} | {s.journeys} | {s.worst_p95_ms:.0f} ms "
            f"| {s.errors} | {'yes' if s.holds else 'no'} |"
        )
    return "\n".join(lines)


def steps_table(stage: Stage) -> str:
    """A markdown table of one stage's steps: requests, errors, p50, p95."""
    lines = ["| step | requests | errors | p50 | p95 |", "|---|---|---|---|---|"]
    for f in stage.steps:
        lines.append(
            f"| {f.step} | {f.requests} | {f.errors} | {f.p50_ms:.0f} ms | {f.p95_ms:.0f} ms |"
        )
    return "\n".join(lines)


def ledger_table(ledger: Ledger) -> str:
    rows = [
        ("placed, as told to shoppers", ledger.placed_by_shoppers),
        ("orders (our database)", ledger.orders),
        ("distinct PaymentIntents of those orders", ledger.orders_paid_by),
        ("orders (Spectra sandbox)", ledger.sandbox_orders),
        ("captures (Spectra sandbox)", ledger.sandbox_captures),
        ("captured PaymentIntents (localstripe)", ledger.stripe_captured),
        ("order confirmation emails", ledger.confirmation_emails),
        ("emails sent, all kinds", ledger.emails),
    ]
    return "\n".join(["| count | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])
