"""Webhook storm: 1,000 deliveries with duplicates, reordering and 30% drops across 100
orders, processed by two Celery workers at once, then reconciliation passes within the
background budget of a Standard key.

The events are exactly what the sandbox would send (each order advanced step by step
through the operator API, its state captured after each step), signed with the
webhook secret and posted to the live server in a shuffled order. What the shoppers
must notice: every order ends in its real status and each gets exactly one email per
kind, whatever was duplicated, reordered or lost.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from checkout.models import Order, WebhookEvent
from checkout.services.budget import PASSES_PER_HOUR, background_budget
from checkout.services.reconcile import ReconcileResult, orders_reconcile
from checkout.testing.celery_worker import database_url_from_settings, start_celery_worker
from tests.integration.webhooks.conftest import WebhookEnv

from .conftest import Figures, LogRecorder
from .support import (
    History,
    build_history,
    check_emails,
    check_states,
    delivery_stream,
    inbox_settled,
    ledger_settled,
    place_orders,
    post_stream,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ORDERS = 100
DELIVERIES = 1000
DROP = 0.30
STANDARD_HOURLY_LIMIT = 1000


def _converged(history: History) -> bool:
    local = dict(Order.objects.values_list("order_number", "status"))
    return all(local.get(number) == final for number, final in history.final.items())


def test_thousand_events_two_workers_one_email_per_order_and_kind(
    storm_env: WebhookEnv, settings: Any, figures: Figures, log_recorder: LogRecorder
) -> None:
    env = storm_env
    started = time.monotonic()
    env.webhook_faults({"drop": {"percent": 100}})  # we deliver, not the sandbox
    env.start_worker()
    second = start_celery_worker(
        broker_url=env.broker_url,
        database_url=database_url_from_settings(),
        settings_overrides=env.worker_settings,
        queue=env.queue,
        beat=False,  # exactly one beat
    )
    env.workers.append(second)
    for worker in env.workers:
        log_recorder.add_file(worker.log_path)

    orders = place_orders(env, ORDERS)
    history = build_history(env, orders)
    rng = random.Random(20260518)
    stream, dropped = delivery_stream(history.events, total=DELIVERIES, drop=DROP, rng=rng)
    prepared = time.monotonic()

    statuses = post_stream(env.webhook_url, stream, settings.CHECKOUT_WEBHOOK_SECRET)
    posted = time.monotonic()
    assert set(statuses) <= {200, 202}, statuses
    wait_for(inbox_settled, timeout=120, what="every delivery processed")
    processed = time.monotonic()

    # Reconciliation as the beat runs it (every five minutes), on a Standard key's budget:
    # each pass takes its share of 20% of 1,000 calls an hour, until every order converged.
    settings.CHECKOUT_SPECTRA_HOURLY_LIMIT = STANDARD_HOURLY_LIMIT
    budget = background_budget()
    assert budget.per_hour is not None
    spent_before = budget.used_this_hour
    passes: list[ReconcileResult] = []
    while len(passes) < PASSES_PER_HOUR:
        passes.append(orders_reconcile())
        wait_for(inbox_settled, timeout=60, what="reconciliation's work published")
        if _converged(history):
            break
    background_calls = background_budget().used_this_hour - spent_before
    assert background_calls <= budget.per_hour, (background_calls, budget)
    changed = sum(p.changed for p in passes)
    wait_for(ledger_settled, timeout=120, what="every due email sent")
    time.sleep(2)  # a duplicate send would show up now

    check_states(env, history)
    emails = check_emails(env, history)
    unique_delivered = WebhookEvent.objects.count()
    duplicates = sum(e.deliveries - 1 for e in WebhookEvent.objects.all())
    per_worker = [w.log().count("succeeded in") for w in env.workers]
    assert all(n > 0 for n in per_worker), per_worker  # both workers did work
    figures.record(
        "webhook-storm",
        scenario="Webhook storm, two workers",
        done=f"{ORDERS} orders advanced through 5 paths ({len(history.events)} distinct "
        f"events); {len(dropped)} dropped ({DROP:.0%}), the rest posted {DELIVERIES} times "
        f"shuffled with duplicates to the live server; 2 Celery workers (prefork x2 each); "
        f"then reconciliation passes on a Standard key's background budget",
        expected="every order in its Spectra status; exactly one email per order and kind",
        observed=f"{unique_delivered} events stored from {DELIVERIES} deliveries "
        f"({duplicates} duplicates absorbed); reconciliation fixed {changed} orders in "
        f"{len(passes)} passes with {background_calls} background calls (budget "
        f"{budget.per_hour}/h of a Standard key); {ORDERS}/{ORDERS} orders converged; "
        f"{emails['emails']} emails by the app + {emails['spectra_emails']} by Spectra, "
        f"0 lost, 0 doubled; tasks per worker {per_worker}",
        seconds=time.monotonic() - started,
        post_seconds=round(posted - prepared, 1),
        process_seconds=round(processed - posted, 1),
        http=dict(statuses),
        distinct_events=len(history.events),
        dropped=len(dropped),
        reconciled=changed,
        reconcile_passes=len(passes),
        background_calls=background_calls,
        background_budget_per_hour=budget.per_hour,
        **emails,
    )
