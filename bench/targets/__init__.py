"""What the benchmark measures, and how each target's requests are prepared.

One module per group of targets: ``pages`` (the shopper's pages), ``placement`` (pay,
place and their floors), ``webhooks`` (intake and webhook to email), ``admin`` (the
orders list), ``capacity`` (slow API, worker memory) and ``latency`` (the critical path
and latency tolerance on the production server). ``prepared`` writes the state
they start from; ``checks`` defines a check and the run's shared context.

Each target says which load generator it uses (wrk for repeatable requests, the Python
generator when every request needs a fresh attempt or event) and checks one prepared
request before timing.
"""

from __future__ import annotations

from bench.targets import admin, capacity, latency, pages, placement, webhooks
from bench.targets.checks import Check, Context

__all__ = ["RUN_ORDER", "Check", "Context", "all_checks"]

RUN_ORDER = (
    # Admin first: its list counts every order, and later targets add orders.
    "queries_admin",
    "admin_orders_100",
    "admin_orders_100k",
    "page_information",
    "page_shipping",
    "page_payment",
    "page_payment_first",
    "post_information",
    "post_pay",
    "post_place",
    "post_place_floor",
    "page_order_status",
    "webhook_unique",
    "webhook_duplicate",
    "queries_pages",
    "webhook_email",
    "capacity_slow_api",
    "worker_memory",
    # Last of the regression guards: its many commits leave PostgreSQL writing back for a
    # while, which showed in the targets measured after it (docs/performance.md, "Goals
    # and pass rules").
    "floor_one_write",
    # Issue 18's figures, on the production server (gthread), started for them.
    *(f"critical_path_{endpoint}" for endpoint in latency.ENDPOINTS),
    "latency_tolerance",
)


def all_checks(ctx: Context) -> list[Check]:
    """Every check, in the order a run measures them."""
    checks = {
        check.name: check
        for group in (admin, pages, placement, webhooks, capacity, latency)
        for check in group.checks(ctx)
    }
    return [checks[name] for name in RUN_ORDER]
