"""Capacity: how many shoppers the workers serve when the API is slow, and whether the
workers' memory grows over many checkout requests."""

from __future__ import annotations

import secrets
import statistics
import time
from typing import TYPE_CHECKING, Any

from bench import loadgen
from bench.loadgen import Spec
from bench.stack import HOST, WORKERS, rss_kib
from bench.targets.checks import VIEWS, Check, Context, api_calls, stub_call
from bench.targets.latency import ENDPOINTS
from bench.targets.prepared import attempts_create, cookie, orders_create

if TYPE_CHECKING:
    from bench.run import Mode

SLOW_API_MS = 300.0


def capacity_slow(ctx: Context, mode: Mode) -> dict[str, Any]:
    """With slow API answers a sync worker serves one request per (calls x delay + own time).

    Calls per request and the request's own time are measured one request at a time with
    the fast stub; then the stub answers in ``SLOW_API_MS`` and 2 x workers connections
    keep every worker busy (more would only queue in the backlog). Every request is a
    first visit (a fresh checkout, sent once): a revisit is served from the quote cache
    without any API call, so only first visits depend on the API's speed.
    """
    delay = SLOW_API_MS
    port = ctx.stack.web_port
    specs = [
        Spec("GET", "/checkout/shipping/", {"Cookie": cookie(key, ctx.csrf)})
        for key, _ in attempts_create(10 + int(mode.slow_s * WORKERS * 4) + 50, step="payment")
    ]
    singles = []
    before = api_calls(ctx)
    for spec in specs[:10]:
        start = time.perf_counter()
        loadgen.send_one(spec, host=HOST, port=port)
        singles.append((time.perf_counter() - start) * 1000)
    calls_per_request = (api_calls(ctx) - before) / 10
    own_ms = statistics.median(singles)
    stub_call(ctx, "/_bench/config", {"delay_ms": delay})
    try:
        load = loadgen.run_python(
            specs[10:],
            host=HOST,
            port=port,
            seconds=mode.slow_s,
            cycle=False,
            connections=2 * WORKERS,
        )
    finally:
        stub_call(ctx, "/_bench/config", {"delay_ms": 0})
    # The page's calls go in one round (checkout.services.rounds): a sync worker waits one
    # delay for all of them, not one per call.
    rounds = ENDPOINTS["shipping_first"][1]
    predicted = WORKERS * 1000 / (rounds * delay + own_ms)
    return {
        "rps": round(load.rps, 2),
        "api_calls_per_request": round(calls_per_request, 2),
        "own_ms": round(own_ms, 1),
        "predicted_rps": round(predicted, 2),
        "measured_over_predicted": round(load.rps / predicted, 3),
        "p50_ms": round(load.p50_ms, 1),
        "p99_ms": round(load.p99_ms, 1),
        "summary": (
            f"{load.rps:.2f} req/s; predicted {WORKERS} workers x 1 / "
            f"({calls_per_request:g} API calls in {rounds} round x {delay:.0f} ms + "
            f"{own_ms:.0f} ms) "
            f"= {predicted:.2f} req/s"
        ),
    }


def worker_memory(ctx: Context, mode: Mode) -> dict[str, Any]:
    """RSS of the web workers before and after ``mode.memory_requests`` checkout requests."""
    from checkout.links import order_status_url

    stack = ctx.stack
    specs: list[Spec] = []
    for step in ("information", "shipping", "payment"):
        for key, _ in attempts_create(100, step=step):
            specs.append(Spec("GET", f"/checkout/{step}/", {"Cookie": cookie(key, ctx.csrf)}))
    specs += [Spec("GET", order_status_url(o)) for o in orders_create(300)]
    specs.sort(key=lambda _: secrets.randbelow(1 << 30))
    port = stack.web_port
    warm = min(1000, mode.memory_requests // 4)
    loadgen.run_python(specs, host=HOST, port=port, seconds=120, cycle=True, max_requests=warm)
    pids = stack.worker_pids()
    before = {pid: rss_kib(pid) for pid in pids}
    load = loadgen.run_python(
        specs, host=HOST, port=port, seconds=600, cycle=True, max_requests=mode.memory_requests
    )
    after = {pid: rss_kib(pid) for pid in stack.worker_pids()}
    if set(after) != set(before):
        raise RuntimeError("a gunicorn worker restarted during the memory run")
    growth = sum(after.values()) / sum(before.values()) - 1
    return {
        "requests": load.requests,
        "errors": load.errors,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "growth": round(growth, 4),
        "p50_ms": round(load.p50_ms, 2),
        "p99_ms": round(load.p99_ms, 2),
        "summary": (
            f"{load.requests} requests: {sum(before.values()) // 1024} → "
            f"{sum(after.values()) // 1024} MiB ({growth:+.1%})"
        ),
    }


def checks(ctx: Context) -> list[Check]:
    return [
        Check(
            "capacity_slow_api",
            f"capacity with {SLOW_API_MS:.0f} ms API answers (shipping page)",
            {"band": [0.75, 1.25]},
            ctx,
            kind="custom",
            needs=VIEWS,
            url_name="checkout:checkout-shipping",
            run_fn=capacity_slow,
        ),
        Check(
            "worker_memory",
            "web worker memory over the checkout pages",
            {"growth_max": 0.05},
            ctx,
            kind="custom",
            needs=VIEWS,
            url_name="checkout:checkout-information",
            run_fn=worker_memory,
        ),
    ]
