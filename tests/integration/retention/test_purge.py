"""checkout_purge and its beat task remove personal data past its retention, on real
PostgreSQL, and leave alone everything an order, a payment or staff still needs."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.utils import timezone

from checkout.models import CheckoutAttempt, Order, OrderEvent, OutboxMessage, WebhookEvent
from checkout.services.inbox import webhook_event_process, webhook_events_replay
from checkout.services.retention import personal_data_purge
from checkout.tasks import CHECKOUT_BEAT_SCHEDULE
from checkout.tasks import personal_data_purge as purge_task

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

State = CheckoutAttempt.State
OLD = timezone.now() - dt.timedelta(days=45)  # past the default 30 days
RECENT = timezone.now() - dt.timedelta(days=3)
ADDRESS = {"name": "Ada Lovelace", "address1": "1 Main St", "city": "New York", "zip": "10001"}
BODY = json.dumps({"event": "order.updated", "data": {"id": 1, "email": "ada@example.com"}})


def attempt(state: str, *, at: dt.datetime = OLD, **fields: Any) -> CheckoutAttempt:
    row = CheckoutAttempt.objects.create(
        cart_id=f"cart-{CheckoutAttempt.objects.count()}",
        owner="session-key",
        state=state,
        email="ada@example.com",
        phone="212-555-0100",
        shipping_address=ADDRESS,
        billing_address=ADDRESS,
        gift_card_code="GIFT-1234",
        **fields,
    )
    OrderEvent.objects.create(attempt=row, kind=OrderEvent.Kind.ATTEMPT, message="started")
    CheckoutAttempt.objects.filter(pk=row.pk).update(updated_at=at)
    return row


def webhook(outcome: str, *, at: dt.datetime = OLD) -> WebhookEvent:
    row = WebhookEvent.objects.create(
        source=WebhookEvent.Source.SPECTRA,
        event_type="order.updated",
        dedup_key=f"key-{WebhookEvent.objects.count()}",
        raw_body=BODY,
        headers={"User-Agent": "Spectra", "X-Forwarded-For": "203.0.113.9"},
        signature_valid=True,
        outcome=outcome,
    )
    WebhookEvent.objects.filter(pk=row.pk).update(received_at=at)
    return row


def outbox(published_at: dt.datetime | None) -> OutboxMessage:
    return OutboxMessage.objects.create(
        task_name="checkout.tasks.email_send",
        kwargs={"notification_id": 1},
        published_at=published_at,
    )


@pytest.fixture
def data() -> dict[str, Any]:
    placed = attempt(State.PLACED, payment_intent_id="pi_placed")
    Order.objects.create(
        spectra_id=1, order_number="ORD-20260101-0001", attempt=placed, email="ada@example.com"
    )
    return {
        "abandoned": attempt(State.COLLECTING),
        "failed_unpaid": attempt(State.FAILED),
        "declined": attempt(State.FAILED, payment_intent_id="pi_declined"),
        "setup_only": attempt(State.COLLECTING, setup_intent_id="seti_1"),
        "placed": placed,
        "authorized": attempt(State.PAYMENT_AUTHORIZED, payment_intent_id="pi_held"),
        "submitting": attempt(State.SUBMITTING, payment_intent_id="pi_sub"),
        "review": attempt(State.NEEDS_REVIEW, payment_intent_id="pi_review"),
        "recent": attempt(State.COLLECTING, at=RECENT),
        "processed": webhook(WebhookEvent.Outcome.PROCESSED),
        "ignored": webhook(WebhookEvent.Outcome.IGNORED),
        "failed_hook": webhook(WebhookEvent.Outcome.FAILED),
        "received_hook": webhook(WebhookEvent.Outcome.RECEIVED),
        "recent_hook": webhook(WebhookEvent.Outcome.PROCESSED, at=RECENT),
        "sent": outbox(OLD),
        "unsent": outbox(None),
        "recently_sent": outbox(RECENT),
    }


def exists(row: Any) -> bool:
    return type(row).objects.filter(pk=row.pk).exists()


def untouched_attempt(row: CheckoutAttempt) -> bool:
    row = CheckoutAttempt.objects.get(pk=row.pk)
    return row.email == "ada@example.com" and row.shipping_address == ADDRESS


def test_the_purge_removes_what_is_past_retention_and_nothing_else(data: dict[str, Any]) -> None:
    result = personal_data_purge()
    assert (result.attempts_deleted, result.attempts_anonymized) == (2, 2)
    assert (result.webhook_bodies_removed, result.outbox_rows_deleted) == (2, 1)

    # Abandoned with no payment tried: gone, with its timeline.
    for name in ("abandoned", "failed_unpaid"):
        assert not exists(data[name])
        assert not OrderEvent.objects.filter(attempt_id=data[name].pk).exists()
    # A payment was tried: the record of it stays, the shopper's details go.
    for name, intent in (("declined", "pi_declined"), ("setup_only", "")):
        row = CheckoutAttempt.objects.get(pk=data[name].pk)
        assert (row.email, row.phone, row.gift_card_code, row.owner) == ("", "", "", "")
        assert row.shipping_address == {}
        assert row.billing_address == {}
        assert row.payment_intent_id == intent
        assert OrderEvent.objects.filter(attempt=row).exists()
    # Anything an order, a held payment or staff still needs, and anything recent, stays.
    for name in ("placed", "authorized", "submitting", "review", "recent"):
        assert untouched_attempt(data[name]), name
    assert Order.objects.get().email == "ada@example.com"

    # Handled webhooks keep their row (the order's timeline) but not the body.
    for name in ("processed", "ignored"):
        event = WebhookEvent.objects.get(pk=data[name].pk)
        assert (event.raw_body, event.headers) == ("", {})
        assert event.event_type == "order.updated"
        assert event.outcome == data[name].outcome
    # Failed or unhandled ones may still be replayed; recent ones are within retention.
    for name in ("failed_hook", "received_hook", "recent_hook"):
        assert WebhookEvent.objects.get(pk=data[name].pk).raw_body == BODY

    assert not exists(data["sent"])
    assert exists(data["unsent"])
    assert exists(data["recently_sent"])

    # A second run finds nothing more to do.
    assert personal_data_purge().total == 0


def test_a_dry_run_counts_and_changes_nothing(data: dict[str, Any]) -> None:
    out = io.StringIO()
    call_command("checkout_purge", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "Dry run: nothing is changed." in text
    assert "      2  Abandoned checkout attempts deleted (no payment tried, after 30 days)" in text
    assert "      2  Abandoned checkout attempts anonymized" in text
    assert "      2  Webhook raw bodies and headers removed (handled, after 30 days)" in text
    assert "      1  Outbox rows deleted (published, after 7 days)" in text
    assert "7 row(s) would change." in text
    assert exists(data["abandoned"])
    assert exists(data["sent"])
    assert untouched_attempt(data["declined"])
    assert WebhookEvent.objects.get(pk=data["processed"].pk).raw_body == BODY

    out = io.StringIO()
    call_command("checkout_purge", stdout=out)
    assert "7 row(s) changed." in out.getvalue()
    assert not exists(data["abandoned"])


def test_retention_follows_the_settings(data: dict[str, Any], settings: Any) -> None:
    settings.CHECKOUT_RETENTION_ATTEMPT_DAYS = None
    settings.CHECKOUT_RETENTION_WEBHOOK_BODY_DAYS = 60
    settings.CHECKOUT_RETENTION_OUTBOX_DAYS = 1
    result = personal_data_purge()
    assert (result.attempts_deleted, result.attempts_anonymized) == (0, 0)
    assert result.webhook_bodies_removed == 0  # 45 days old, kept for 60
    assert result.outbox_rows_deleted == 2  # the 3-day-old one too
    assert exists(data["abandoned"])


def test_the_beat_task_runs_the_purge_daily(data: dict[str, Any]) -> None:
    entry = CHECKOUT_BEAT_SCHEDULE["checkout-personal-data-purge"]
    assert entry["task"] == purge_task.name == "checkout.tasks.personal_data_purge"
    assert entry["schedule"] == 24 * 60 * 60
    assert purge_task.apply().get()["attempts_deleted"] == 2
    assert not exists(data["abandoned"])


def test_a_purged_webhook_is_not_replayed_and_keeps_its_outcome(data: dict[str, Any]) -> None:
    personal_data_purge()
    processed = data["processed"]
    assert processed.pk not in webhook_events_replay(ids=[processed.pk])
    assert webhook_event_process(webhook_event_id=processed.pk, force=True) == "processed"
    assert WebhookEvent.objects.get(pk=processed.pk).outcome == WebhookEvent.Outcome.PROCESSED


@pytest.mark.parametrize("value", [0, -3, "30", 2.5, True])
def test_a_retention_that_is_not_a_number_of_days_is_an_error(value: Any, settings: Any) -> None:
    settings.CHECKOUT_RETENTION_OUTBOX_DAYS = value
    assert "checkout.E050" in {m.id for m in checks.run_checks()}
