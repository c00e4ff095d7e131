"""Webhooks in the docs' own shape, from the documented sandbox, through a real worker.

The documented contract's deliveries carry no status on order.shipped / order.delivered
and no totals at all: each must be processed once (no failure, no retry), move the order
forward, and send its one email.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from checkout.models import WebhookEvent
from checkout.testing.celery_worker import email_parts
from tests.integration.webhooks.conftest import WebhookEnv, wait_for
from tests.integration.webhooks.test_delivery import kinds_sent, settle

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("sandbox_contract", ["documented"], indirect=True),
]


def test_docs_shaped_webhooks_move_the_order_once_with_one_email_each(
    webhook_env: WebhookEnv, settings: Any
) -> None:
    env = webhook_env
    env.start_worker()
    order = env.place_order()
    wait_for(lambda: kinds_sent(env, order) == ["confirmation"], what="confirmation")

    # The warehouse ships: order.status_changed (no tracking) then order.shipped (with it).
    env.advance(order, "shipped", tracking_number="1Z999AA10123456784", carrier="UPS")
    wait_for(lambda: "shipped" in kinds_sent(env, order), what="the shipped email")
    env.advance(order, "delivered")
    wait_for(
        lambda: WebhookEvent.objects.filter(outcome__in=["processed", "ignored"]).count() == 6,
        what="six deliveries handled",
    )
    wait_for(lambda: "delivered" in kinds_sent(env, order), what="the delivered email")
    settle()

    assert kinds_sent(env, order) == ["confirmation", "delivered", "shipped"]
    shipped = next(m for m in env.emails() if "shipped" in str(m["Subject"]))
    assert "1Z999AA10123456784" in email_parts(shipped)[0]
    order.refresh_from_db()
    assert order.status == "delivered"
    assert order.tracking_number == "1Z999AA10123456784"
    events = list(WebhookEvent.objects.order_by("pk"))
    assert [(e.processing_attempts, e.error) for e in events] == [(1, "")] * 6
    delivered = WebhookEvent.objects.get(event_type="order.delivered")
    data = json.loads(delivered.raw_body)["data"]
    assert sorted(data) == sorted(
        ["id", "order_number", "tracking_number", "shipping_carrier", "delivered_at"]
    )
    assert delivered.outcome == "processed"
