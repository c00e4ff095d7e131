"""Webhooks, reconciliation and emails against the sandbox, PostgreSQL, Redis and a real worker.

What a shopper notices: exactly one email per step of their order, whatever happens to
the webhooks (duplicated, reordered, dropped), to the worker (killed mid-send) or to
the broker (down when the event arrives).
"""

from __future__ import annotations

import functools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from checkout.models import EmailNotification, Order, OrderEvent, WebhookEvent
from checkout.services.reconcile import checkout_sweep, orders_reconcile
from checkout.testing.celery_worker import email_parts
from checkout.testing.signing import sign_webhook_body
from tests.integration.webhooks.conftest import TEST_KEY, WebhookEnv, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def signed_event(
    env: WebhookEnv, event: str, data: dict[str, Any], secret: str
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {"event": event, "timestamp": "2026-05-18T14:23:00+00:00", "data": data}
    ).encode()
    return body, {
        "Content-Type": "application/json",
        "X-Webhook-Event": event,
        "X-Webhook-Signature": sign_webhook_body(body, secret),
    }


def remote_data(env: WebhookEnv, order: Order, key: str | None = None) -> dict[str, Any]:
    client = env.client(key) if key else env.client()
    return dict(client.get_order(order.spectra_id).raw)


def kinds_sent(env: WebhookEnv, order: Order) -> list[str]:
    """Kinds of the emails actually written by the worker for ``order``, by subject."""
    kinds = []
    for message in env.emails():
        subject = str(message["Subject"])
        if order.order_number not in subject:
            continue
        for word, kind in (
            ("confirmed", "confirmation"),
            ("shipped", "shipped"),
            ("delivered", "delivered"),
            ("cancelled", "cancelled"),
            ("refunded", "refunded"),
        ):
            if word in subject:
                kinds.append(kind)
    return sorted(kinds)


def events_handled(count: int) -> bool:
    """Whether ``count`` webhook events have been processed or ignored so far."""
    return WebhookEvent.objects.filter(outcome__in=["processed", "ignored"]).count() == count


def settle(seconds: float = 2.5) -> None:
    """Give a duplicate a chance to show up before asserting it did not."""
    time.sleep(seconds)


def test_fifty_identical_deliveries_make_one_change_and_one_email(
    webhook_env: WebhookEnv, settings: Any
) -> None:
    env = webhook_env
    env.start_worker()
    env.webhook_faults({"drop": {"percent": 100}})
    order = env.place_order()
    env.advance(order, "shipped", tracking_number="1Z999AA10123456784", carrier="UPS")
    # order.shipped carries the tracking in the docs' shape too, whatever the order read has.
    data = {
        **remote_data(env, order),
        "tracking_number": "1Z999AA10123456784",
        "shipping_carrier": "UPS",
    }
    body, headers = signed_event(env, "order.shipped", data, settings.CHECKOUT_WEBHOOK_SECRET)

    def post(_: int) -> int:
        return requests.post(env.webhook_url, data=body, headers=headers, timeout=10).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(post, range(50)))

    assert all(200 <= s < 300 for s in statuses), statuses
    event = WebhookEvent.objects.get()
    assert event.deliveries == 50
    wait_for(lambda: kinds_sent(env, order) == ["confirmation", "shipped"], what="shipped email")
    settle()
    assert kinds_sent(env, order) == ["confirmation", "shipped"]
    order.refresh_from_db()
    assert order.status == "shipped"
    assert order.tracking_number == "1Z999AA10123456784"
    assert order.events.filter(kind=OrderEvent.Kind.STATUS).count() == 1
    shipped = next(m for m in env.emails() if "shipped" in str(m["Subject"]))
    text, html = email_parts(shipped)
    for part in (text, html):
        assert order.order_number in part
        assert "1Z999AA10123456784" in part
        assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in part


def test_events_in_reverse_order_end_delivered_without_a_late_shipped_email(
    webhook_env: WebhookEnv, settings: Any
) -> None:
    env = webhook_env
    env.start_worker()
    env.webhook_faults({"drop": {"percent": 100}})
    order = env.place_order()
    env.advance(order, "shipped")
    shipped = remote_data(env, order)
    env.advance(order, "delivered")
    delivered = remote_data(env, order)
    secret = settings.CHECKOUT_WEBHOOK_SECRET

    for count, (name, data) in enumerate(
        (("order.delivered", delivered), ("order.shipped", shipped)), start=1
    ):
        body, headers = signed_event(env, name, data, secret)
        response = requests.post(env.webhook_url, data=body, headers=headers, timeout=10)
        assert response.status_code == 202
        wait_for(functools.partial(events_handled, count), what=f"{name} processed")

    wait_for(lambda: kinds_sent(env, order) == ["confirmation", "delivered"], what="emails")
    settle()
    assert kinds_sent(env, order) == ["confirmation", "delivered"]
    order.refresh_from_db()
    assert order.status == "delivered"
    ignored = order.events.filter(kind=OrderEvent.Kind.IGNORED)
    reasons = [e.data["reason"] for e in ignored]
    if env.sandbox.documented:
        # The documented order read has no updated_at: the late shipped event cannot be
        # told stale from a repeat, and is ignored either way.
        assert reasons in (["stale"], ["duplicate"]), reasons
    else:
        assert reasons == ["stale"]


def test_reconciliation_reads_one_batch_and_resumes_with_the_rest(
    webhook_env: WebhookEnv,
) -> None:
    env = webhook_env
    env.webhook_faults({"drop": {"percent": 100}})
    placed = [env.place_order() for _ in range(5)]
    for order in placed:
        env.advance(order, "shipped")

    first = orders_reconcile(limit=2)
    assert (first.checked, first.changed, first.remaining) == (2, 2, 3)
    second = orders_reconcile(limit=2)  # the least recently synced come next
    assert (second.checked, second.changed, second.remaining) == (2, 2, 3)
    third = orders_reconcile(limit=2)
    assert (third.checked, third.changed) == (2, 1)
    for order in placed:
        order.refresh_from_db()
        assert order.status == "shipped"


def test_one_reconciliation_pass_converges_when_every_webhook_is_lost(
    webhook_env: WebhookEnv,
) -> None:
    env = webhook_env
    env.start_worker()
    env.webhook_faults({"drop": {"percent": 100}})
    shipped, delivered, cancelled, refunded, untouched = (env.place_order() for _ in range(5))
    env.advance(shipped, "shipped")
    env.advance(delivered, "delivered")
    env.advance(cancelled, "cancelled")
    env.advance(refunded, "delivered")
    env.advance(refunded, "refunded")
    assert WebhookEvent.objects.count() == 0  # every webhook was lost

    result = orders_reconcile()

    assert result.checked == 5
    assert result.changed == 4
    assert not result.rate_limited
    expected = {
        shipped: ("shipped", ["confirmation", "shipped"]),
        delivered: ("delivered", ["confirmation", "delivered"]),
        cancelled: ("cancelled", ["cancelled", "confirmation"]),
        refunded: ("refunded", ["confirmation", "refunded"]),
        untouched: ("pending", ["confirmation"]),
    }
    wait_for(
        lambda: all(kinds_sent(env, o) == kinds for o, (_s, kinds) in expected.items()),
        what="every due email",
    )
    orders_reconcile()  # a second pass finds nothing new and mails nobody again
    settle()
    for order, (status, kinds) in expected.items():
        order.refresh_from_db()
        assert order.status == status
        assert kinds_sent(env, order) == kinds


def test_worker_killed_mid_send_sends_the_email_exactly_once(
    webhook_env: WebhookEnv, settings: Any
) -> None:
    env = webhook_env
    settings.CHECKOUT_EMAIL_SEND_LEASE = 3
    slow = env.start_worker(CHECKOUT_TEST_EMAIL_DELAY=4, CHECKOUT_EMAIL_SEND_LEASE=3)
    order = env.place_order()
    notification = EmailNotification.objects.get(order=order, kind="confirmation")

    # Up to two sweep periods (60 s each): a publish lost on the way is re-sent by the sweep.
    wait_for(lambda: list(env.email_dir.glob("*.sending")), timeout=150, what="the send to start")
    slow.kill()
    assert env.emails() == []
    notification.refresh_from_db()
    assert notification.status == EmailNotification.Status.SENDING

    # Within the lease nobody else may send it: the killed send might still be running.
    # Asked before the new worker starts, which alone can take longer than the lease.
    assert checkout_sweep(recover_attempts=False).emails_requeued == 0
    env.start_worker(CHECKOUT_EMAIL_SEND_LEASE=3)
    time.sleep(3.2)
    assert checkout_sweep(recover_attempts=False).emails_requeued == 1
    wait_for(lambda: kinds_sent(env, order) == ["confirmation"], what="the resent email")
    checkout_sweep(recover_attempts=False)
    settle()
    assert kinds_sent(env, order) == ["confirmation"]
    notification.refresh_from_db()
    assert notification.status == EmailNotification.Status.SENT
    assert notification.attempts == 2


def test_webhook_is_accepted_while_redis_is_down_and_processed_after(
    webhook_env_own_redis: tuple[WebhookEnv, Any], settings: Any
) -> None:
    env, redis = webhook_env_own_redis
    env.start_worker()
    env.webhook_faults({"drop": {"percent": 100}})
    order = env.place_order()
    wait_for(lambda: kinds_sent(env, order) == ["confirmation"], what="confirmation")
    env.advance(order, "shipped")
    body, headers = signed_event(
        env, "order.shipped", remote_data(env, order), settings.CHECKOUT_WEBHOOK_SECRET
    )

    redis.stop()
    started = time.monotonic()
    response = requests.post(env.webhook_url, data=body, headers=headers, timeout=10)
    elapsed = time.monotonic() - started

    assert response.status_code == 202
    assert elapsed < 0.5
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.RECEIVED
    order.refresh_from_db()
    assert order.status == "pending"  # nothing changes in the request itself

    redis.start()
    wait_for(
        lambda: kinds_sent(env, order) == ["confirmation", "shipped"], timeout=40, what="shipped"
    )
    event.refresh_from_db()
    order.refresh_from_db()
    assert event.outcome == WebhookEvent.Outcome.PROCESSED
    assert order.status == "shipped"


def test_test_orders_send_no_customer_email(webhook_env: WebhookEnv, settings: Any) -> None:
    env = webhook_env
    env.start_worker()
    env.webhook_faults({"drop": {"percent": 100}})
    order = env.place_order(key=TEST_KEY)
    assert order.is_test
    env.advance(order, "shipped", tracking_number="1Z999AA10123456784", carrier="UPS")
    # order.shipped carries the tracking in the docs' shape too, whatever the order read has.
    data = {
        **remote_data(env, order, TEST_KEY),
        "tracking_number": "1Z999AA10123456784",
        "shipping_carrier": "UPS",
    }
    body, headers = signed_event(env, "order.shipped", data, settings.CHECKOUT_WEBHOOK_SECRET)
    assert requests.post(env.webhook_url, data=body, headers=headers, timeout=10).status_code == 202

    wait_for(lambda: Order.objects.get(pk=order.pk).status == "shipped", what="shipped")
    settle()
    assert env.emails() == []
    ledger = {n.kind: n.status for n in EmailNotification.objects.filter(order=order)}
    assert ledger == {"confirmation": "suppressed", "shipped": "suppressed"}
