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
    order = env.place_order()
    env.start_worker()

    env.advance(order, "delivered", tracking_number="1Z999AA10123456784", carrier="UPS")

    wait_for(
        lambda: kinds_sent(env, order) == ["confirmation", "delivered", "shipped"],
        what="confirmation, shipped and delivered emails",
    )
    wait_for(
        lambda: WebhookEvent.objects.filter(outcome__in=["processed", "ignored"]).count() == 6,
        what="six deliveries handled",
    )
    settle()
    assert kinds_sent(env, order) == ["confirmation", "delivered", "shipped"]
    order.refresh_from_db()
    assert order.status == "delivered"
    assert order.tracking_number == "1Z999AA10123456784"
    events = list(WebhookEvent.objects.order_by("pk"))
    assert [(e.outcome, e.processing_attempts, e.error) for e in events] == [
        (e.outcome, 1, "") for e in events
    ]
    assert all(e.outcome in {"processed", "ignored"} for e in events)
    delivered = WebhookEvent.objects.get(event_type="order.delivered")
    data = json.loads(delivered.raw_body)["data"]
    assert sorted(data) == sorted(
        ["id", "order_number", "tracking_number", "shipping_carrier", "delivered_at"]
    )
    assert delivered.outcome == "processed"
