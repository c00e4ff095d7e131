"""Webhooks: receiving unique events and duplicate deliveries, and a shipped webhook's
way to the shopper's email through a real Celery worker."""

from __future__ import annotations

import datetime as dt
import json
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from bench import loadgen
from bench.loadgen import Spec
from bench.mail import email_log_key
from bench.stack import HOST
from bench.targets.checks import Check, Context, pool_size
from bench.targets.prepared import order_data, orders_create, signed_webhook

if TYPE_CHECKING:
    import redis

    from bench.run import Mode

INTAKE = ("checkout.webhooks", "checkout.services.inbox")


def unique_events(ctx: Context, mode: Mode, round_no: int) -> list[Spec]:
    orders = orders_create(64, status="pending")
    stamp = timezone.now()
    return [
        signed_webhook(
            "order.status_changed",
            order_data(orders[i % len(orders)], "processing"),
            (stamp + dt.timedelta(microseconds=i)).isoformat(),
        )
        for i in range(pool_size(mode, per_second=3000))
    ]


def duplicate_deliveries(ctx: Context, mode: Mode, round_no: int) -> list[Spec]:
    """64 different events, each already delivered once: every timed request is a
    duplicate, spread over rows as real duplicates are (not one hot row)."""
    orders = orders_create(64, status="pending")
    stamp = timezone.now().isoformat()
    specs = [
        signed_webhook("order.status_changed", order_data(o, "processing"), stamp) for o in orders
    ]
    for spec in specs:
        loadgen.send_one(spec, host=HOST, port=ctx.stack.web_port)  # the first delivery
    return specs


# --- Webhook to email, end to end ------------------------------------------------------


@dataclass
class Deliveries:
    """What the sending threads saw: when each order's first event went, and the answers."""

    sent_at: dict[str, float] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def shipped_schedule(count: int) -> list[tuple[str, Spec]]:
    """``count`` signed ``order.shipped`` events for new orders, every tenth sent twice."""
    orders = orders_create(count, status="processing")
    events = [
        (
            order.email,
            signed_webhook(
                "order.shipped",
                order_data(order, "shipped", tracking_number=f"1Z{i:08d}", shipping_carrier="UPS"),
                timezone.now().isoformat(),
            ),
        )
        for i, order in enumerate(orders)
    ]
    schedule: list[tuple[str, Spec]] = []
    for i, item in enumerate(events):
        schedule.append(item)
        if i % 10 == 5:
            schedule.append(item)  # a duplicate delivery
    return schedule[:count]


def wait_until_worker_keeps_up(store: redis.Redis) -> None:
    """Return once the Celery queue has stayed empty for 2 s (at most 60 s).

    Beat runs every periodic task when it starts: the sweep and a reconciliation pass
    (200 API calls) keep the one worker busy for a few seconds. Starting after that
    measures the pipeline's steady state.
    """
    quiet_since, give_up = time.monotonic(), time.monotonic() + 60
    time.sleep(3)  # worker and beat connect
    while time.monotonic() < give_up:
        if store.llen("celery"):
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 2:
            break
        time.sleep(0.1)


def deliver(ctx: Context, deliveries: Deliveries, at: float, email: str, spec: Spec) -> None:
    """Send one event at time ``at`` and record when its order's first event went."""
    delay = at - time.time()
    if delay > 0:
        time.sleep(delay)
    sent = time.time()
    status, _ = loadgen.send_one(spec, host=HOST, port=ctx.stack.web_port)
    with deliveries.lock:
        deliveries.statuses[status] += 1
        deliveries.sent_at.setdefault(email, sent)


def send_at_rate(ctx: Context, schedule: list[tuple[str, Spec]], rate: float) -> Deliveries:
    """Send the schedule at ``rate`` events a second, one thread per event."""
    deliveries = Deliveries()
    start = time.time() + 0.2
    threads = [
        threading.Thread(
            target=deliver, args=(ctx, deliveries, start + i / rate, email, spec), daemon=True
        )
        for i, (email, spec) in enumerate(schedule)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return deliveries


def emails_recorded(
    store: redis.Redis, key: str, expected: set[str]
) -> tuple[Counter[str], dict[str, float]]:
    """Emails recorded so far to each expected address, and when the first was sent."""
    seen: Counter[str] = Counter()
    first_at: dict[str, float] = {}
    for raw in store.lrange(key, 0, -1):
        record = json.loads(raw)
        for to in record["to"]:
            if to in expected:
                seen[to] += 1
                first_at.setdefault(to, record["at"])
    return seen, first_at


def webhook_email(ctx: Context, mode: Mode) -> dict[str, Any]:
    """Send ``order.shipped`` at 20/s (10% sent twice) and wait for the shipped emails."""
    import redis
    from django.conf import settings

    from checkout.models import OutboxMessage, WebhookEvent

    stack = ctx.stack
    rate = 20.0
    count = int(rate * mode.e2e_s)
    # Earlier targets left thousands of stored events and outbox rows that no worker has
    # run; start from an empty queue so this measures the pipeline, not that backlog.
    OutboxMessage.objects.all().delete()
    WebhookEvent.objects.all().delete()
    schedule = shipped_schedule(count)
    key = email_log_key()
    store = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    store.delete(key)
    stack.start_worker()
    stack.start_beat()
    wait_until_worker_keeps_up(store)
    deliveries = send_at_rate(ctx, schedule, rate)
    expected = set(deliveries.sent_at)
    deadline = time.time() + 30
    first_at: dict[str, float] = {}
    while time.time() < deadline:
        seen, first_at = emails_recorded(store, key, expected)
        if expected <= set(seen):
            break
        time.sleep(0.5)
    time.sleep(2)  # a late duplicate would show up now
    seen, _ = emails_recorded(store, key, expected)
    stack.stop("beat")
    stack.stop("celery")
    sent_at = deliveries.sent_at
    latencies = sorted((first_at[e] - sent_at[e]) * 1000 for e in first_at)
    lost = len(expected - set(seen))
    doubled = sum(1 for n in seen.values() if n > 1)
    p50 = statistics.median(latencies) if latencies else None
    p95 = loadgen.percentile(latencies, 95) if latencies else None
    return {
        "events": len(schedule),
        "orders": len(expected),
        "duplicates_sent": len(schedule) - len(expected),
        "webhook_statuses": {str(k): v for k, v in deliveries.statuses.items()},
        "emails": sum(seen.values()),
        "lost": lost,
        "doubled": doubled,
        "p50_ms": round(p50, 1) if p50 is not None else None,
        "p95_ms": round(p95, 1) if p95 is not None else None,
        "p99_ms": round(loadgen.percentile(latencies, 99), 1) if latencies else None,
        "summary": (
            f"{len(schedule)} events ({len(schedule) - len(expected)} duplicates) in "
            f"{mode.e2e_s:.0f} s: p50 {p50 or 0:.0f} ms, p95 {p95 or 0:.0f} ms, "
            f"{lost} lost, {doubled} doubled"
        ),
    }


def checks(ctx: Context) -> list[Check]:
    return [
        Check(
            "webhook_unique",
            "webhook receive, unique events",
            {"ratio_min": 0.25, "p99_ms_max": 100},
            ctx,
            once=True,
            needs=INTAKE,
            url_name="checkout:webhook-spectra",
            expect=(202,),
            prepare_fn=unique_events,
        ),
        Check(
            "webhook_duplicate",
            "webhook receive, duplicate deliveries",
            {"ratio_min": 0.25, "p99_ms_max": 100},
            ctx,
            needs=INTAKE,
            url_name="checkout:webhook-spectra",
            expect=(200,),
            prepare_fn=duplicate_deliveries,
        ),
        Check(
            "webhook_email",
            "webhook → email end to end, 20 events/s, one worker",
            {"p95_ms_max": 2000, "lost": 0, "doubled": 0},
            ctx,
            kind="custom",
            needs=("checkout.tasks", "checkout.services.relay", "checkout.services.sync"),
            url_name="checkout:webhook-spectra",
            run_fn=webhook_email,
        ),
    ]
