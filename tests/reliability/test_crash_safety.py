"""Crash safety: the worker SIGKILLed at random points, Redis restarted (empty: it keeps
nothing), PostgreSQL connections of the worker terminated, all while a stream of webhook
deliveries is being processed. After recovery (the periodic sweep, run here with the
clock moved past its grace periods) nothing is lost and nothing is doubled: every order
reaches its status from the webhooks alone (no reconciliation pass), every event is
processed once, and each order gets exactly one email per kind.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import F

from checkout.models import OutboxMessage, WebhookEvent
from checkout.services.inbox import PROCESS_TASK, webhook_events_stuck
from checkout.services.notifications import EMAIL_SEND_TASK, emails_due_for_retry
from checkout.services.outbox import outbox_enqueue
from tests.integration.webhooks.conftest import OwnRedis, WebhookEnv

from .conftest import Figures, LogRecorder
from .support import (
    build_history,
    check_emails,
    check_states,
    delivery_stream,
    inbox_settled,
    ledger_settled,
    place_orders,
    post_stream,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ORDERS = 20
DELIVERIES = 200
LEASE = 3
WORKER = {"CHECKOUT_TEST_EMAIL_DELAY": 0.2, "CHECKOUT_EMAIL_SEND_LEASE": LEASE}


def redrive() -> None:
    """The sweep's re-enqueueing, left for the worker's beat relay to publish.

    ``checkout_sweep`` would also publish from this process; in production the sweep runs
    in the worker, and this test process's broker connection went through the faults.
    """
    with transaction.atomic():
        for pk in webhook_events_stuck():
            outbox_enqueue(task_name=PROCESS_TASK, webhook_event_id=pk)
        for pk in emails_due_for_retry():
            outbox_enqueue(task_name=EMAIL_SEND_TASK, notification_id=pk)


def supervise(env: WebhookEnv) -> int:
    """Restart the worker if it exited, as systemd or Kubernetes would; return restarts."""
    if env.workers[-1].process.poll() is None:
        return 0
    env.start_worker(**WORKER)
    return 1


def recover(env: WebhookEnv, *, timeout: float = 120) -> tuple[int, int]:
    """Run the sweep until everything settled, moving its clock past the grace periods.

    Returns how many sweep passes it took and how many times the worker had exited.
    """
    deadline = time.monotonic() + timeout
    passes = restarts = 0
    while not (inbox_settled() and ledger_settled()):
        restarts += supervise(env)
        if time.monotonic() > deadline:
            open_events = WebhookEvent.objects.exclude(outcome__in=["processed", "ignored"])
            outbox = OutboxMessage.objects.filter(published_at__isnull=True)
            raise AssertionError(
                f"not settled: {list(open_events.values('pk', 'outcome'))[:5]}; "
                f"outbox waiting {outbox.count()}: {list(outbox.values('last_error'))[:2]}"
            )
        # "A minute later": events not processed and outbox rows not confirmed are due.
        WebhookEvent.objects.filter(outcome__in=["received", "failed"]).update(
            received_at=F("received_at") - dt.timedelta(seconds=120)
        )
        OutboxMessage.objects.filter(published_at__isnull=True).update(available_at=None)
        redrive()
        passes += 1
        time.sleep(LEASE + 0.5)
    return passes, restarts


def scenario(
    env: WebhookEnv,
    settings: Any,
    log_recorder: LogRecorder,
    fault: Callable[[list[Any]], dict[str, Any]],
    *,
    after_post: bool = False,
) -> dict[str, Any]:
    """Place orders, post their events while ``fault`` strikes, recover, check."""
    settings.CHECKOUT_EMAIL_SEND_LEASE = LEASE
    env.webhook_faults({"drop": {"percent": 100}})
    worker = env.start_worker(**WORKER)
    log_recorder.add_file(worker.log_path)
    orders = place_orders(env, ORDERS)
    history = build_history(env, orders)
    stream, _dropped = delivery_stream(
        history.events, total=DELIVERIES, drop=0.0, rng=random.Random(7)
    )
    stream_box: list[Any] = [stream]
    figures_box: dict[str, Any] = {}

    def strike() -> None:
        try:
            figures_box.update(fault(stream_box))
        finally:
            connection.close()

    striker = threading.Thread(target=strike)
    if not after_post:
        striker.start()
    statuses = post_stream(env.webhook_url, stream, settings.CHECKOUT_WEBHOOK_SECRET, threads=4)
    if after_post:
        striker.start()
    striker.join(timeout=120)
    assert set(statuses) <= {200, 202}, statuses  # intake never depends on worker or broker
    passes, restarts = recover(env)
    for w in env.workers:
        log_recorder.add_file(w.log_path)
    time.sleep(1.5)  # a doubled email would land now

    check_states(env, history)
    emails = check_emails(env, history)
    distinct = {e.body for e in history.events}
    assert WebhookEvent.objects.count() == len(distinct)
    assert not WebhookEvent.objects.exclude(outcome__in=["processed", "ignored"]).exists()
    exits = sum(
        1
        for w in env.workers
        if "Unrecoverable error" in w.log() or w.process.poll() not in (None, -9)
    )
    return {
        "passes": passes,
        "supervisor_restarts": restarts,
        "worker_exits": exits,
        "events": len(distinct),
        **emails,
        **figures_box,
    }


def test_worker_killed_at_random_points(
    storm_env: WebhookEnv, settings: Any, figures: Figures, log_recorder: LogRecorder
) -> None:
    env = storm_env
    rng = random.Random(20260518)
    started = time.monotonic()

    def kill_three_times(_: list[Any]) -> dict[str, Any]:
        delays = []
        for _round in range(3):
            delay = rng.uniform(0.3, 1.5)
            delays.append(round(delay, 2))
            time.sleep(delay)
            env.worker.kill()  # SIGKILL: pool children and beat too
            env.start_worker(**WORKER)
        return {"kills": 3, "kill_delays": delays}

    numbers = scenario(env, settings, log_recorder, kill_three_times)
    figures.record(
        "crash-worker-kill",
        scenario="Crash: worker SIGKILLed while processing",
        done=f"{ORDERS} orders, {DELIVERIES} webhook deliveries ({numbers['events']} distinct, "
        f"duplicated and shuffled); the worker (with beat) SIGKILLed 3 times at random "
        f"moments {numbers['kill_delays']}s apart and restarted; emails take 0.2s to send",
        expected="nothing lost, nothing doubled: every order in its final status from the "
        "webhooks alone, every event processed, one email per order and kind",
        observed=f"{ORDERS}/{ORDERS} orders converged after {numbers['passes']} sweep "
        f"passes; {numbers['events']}/{numbers['events']} events processed; "
        f"{numbers['emails']} emails, {numbers['doubled']} doubled",
        seconds=time.monotonic() - started,
        **numbers,
    )


def test_redis_restarted_mid_stream(
    crash_env: tuple[WebhookEnv, OwnRedis],
    settings: Any,
    figures: Figures,
    log_recorder: LogRecorder,
) -> None:
    env, redis = crash_env
    started = time.monotonic()

    def restart_redis(_: list[Any]) -> dict[str, Any]:
        time.sleep(0.5)
        redis.stop()  # every queued task is gone with it (no persistence)
        time.sleep(3)
        accepted_while_down = WebhookEvent.objects.count()
        redis.start()
        return {"redis_down_seconds": 3, "events_stored_by_then": accepted_while_down}

    numbers = scenario(env, settings, log_recorder, restart_redis)
    figures.record(
        "crash-redis-restart",
        scenario="Crash: Redis restarted (empty) mid-stream",
        done=f"{ORDERS} orders, {DELIVERIES} deliveries; our own redis-server stopped for 3s "
        "while deliveries arrived and restarted empty (queued tasks lost)",
        expected="every delivery still answered 2xx; after recovery nothing lost or doubled",
        observed=f"{ORDERS}/{ORDERS} orders converged after {numbers['passes']} sweep "
        f"passes; {numbers['events']} events processed; {numbers['emails']} emails, "
        f"{numbers['doubled']} doubled; the worker exited on the broker loss "
        f"{numbers['worker_exits']} time(s) (Celery 'Unrecoverable error') and was "
        f"restarted by the supervisor loop {numbers['supervisor_restarts']} time(s)",
        seconds=time.monotonic() - started,
        **numbers,
    )


def test_postgres_connections_of_the_worker_terminated(
    storm_env: WebhookEnv, settings: Any, figures: Figures, log_recorder: LogRecorder
) -> None:
    env = storm_env
    started = time.monotonic()

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        test_pid = int(cursor.fetchone()[0])  # this test's own connection survives

    def terminate(_: list[Any]) -> dict[str, Any]:
        killed = 0
        for _round in range(4):
            time.sleep(0.5)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND backend_type = 'client backend' "
                    "AND pid NOT IN (pg_backend_pid(), %s)",
                    [test_pid],
                )
                killed += int(cursor.fetchone()[0])
        return {"connections_terminated": killed}

    numbers = scenario(env, settings, log_recorder, terminate, after_post=True)
    figures.record(
        "crash-postgres-terminate",
        scenario="Crash: PostgreSQL connections dropped",
        done=f"{ORDERS} orders, {DELIVERIES} deliveries; 4 rounds of pg_terminate_backend on "
        f"every other connection to the test database while the worker processed them "
        f"({numbers['connections_terminated']} terminated: worker and beat)",
        expected="failed tasks retried or swept; nothing lost or doubled",
        observed=f"{ORDERS}/{ORDERS} orders converged after {numbers['passes']} sweep "
        f"passes; {numbers['events']} events processed; {numbers['emails']} emails, "
        f"{numbers['doubled']} doubled",
        seconds=time.monotonic() - started,
        **numbers,
    )
