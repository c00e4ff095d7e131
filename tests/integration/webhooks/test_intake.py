"""The endpoint refuses what it must, with a JSON reason, and stores nothing for it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe
from django.test import Client
from django.urls import reverse

from checkout.models import OutboxMessage, WebhookEvent
from checkout.services import inbox
from checkout.testing.signing import sign_webhook_body

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SECRET = "whsec_intake_test"
URL = "/webhooks/spectra/"


@pytest.fixture(autouse=True)
def _secret(settings: Any) -> None:
    settings.CHECKOUT_WEBHOOK_SECRET = SECRET
    settings.CHECKOUT_WEBHOOK_MAX_BODY_BYTES = 2048


def event_body(**data: Any) -> bytes:
    return json.dumps(
        {
            "event": "order.shipped",
            "timestamp": "2026-05-18T14:23:00+00:00",
            "data": {"id": 7, **data},
        }
    ).encode()


def post(client: Client, body: bytes, signature: str | None) -> Any:
    headers = {"X-Webhook-Signature": signature} if signature is not None else {}
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def assert_refused(response: Any, status: int) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]
    assert WebhookEvent.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


def test_route_is_the_named_url() -> None:
    assert reverse("checkout:webhook-spectra") == URL


def test_valid_delivery_is_stored_once_with_its_task(client: Client) -> None:
    body = event_body(status="shipped")
    first = post(client, body, sign_webhook_body(body, SECRET))
    second = post(client, body, sign_webhook_body(body, SECRET))
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    event = WebhookEvent.objects.get()
    assert event.deliveries == 2
    assert event.spectra_order_id == 7
    assert event.signature_valid
    assert (
        OutboxMessage.objects.filter(task_name="checkout.tasks.webhook_event_process").count() == 1
    )


def test_the_upsert_writes_every_column_the_models_declare() -> None:
    """The intake's statement is written out by hand: a field added to either model must
    be added to it too (Django sets no database defaults, so a missing column would fail
    every delivery, or store a wrong value silently)."""
    sql = " ".join(inbox.UPSERT_SQL.split())
    for model in (WebhookEvent, OutboxMessage):
        table = model._meta.db_table
        written = sql.split(f"INSERT INTO {table} (", 1)[1].split(")", 1)[0]
        columns = [c.strip() for c in written.split(",")]
        declared = [f.column for f in model._meta.concrete_fields if not f.primary_key]
        assert columns == declared, table


def test_a_stored_delivery_reads_back_as_the_model_defaults_say(client: Client) -> None:
    body = event_body(status="shipped")
    post(client, body, sign_webhook_body(body, SECRET))
    event = WebhookEvent.objects.get()
    defaults = WebhookEvent(source="spectra", dedup_key="x", raw_body="")
    for name in ("outcome", "processing_attempts", "error", "traceback", "processed_at"):
        assert getattr(event, name) == getattr(defaults, name), name
    assert event.headers["X-Webhook-Signature"].startswith("sha256=")
    assert event.raw_body == body.decode()
    message = OutboxMessage.objects.get()
    assert message.kwargs == {"webhook_event_id": event.pk}
    assert message.last_error == ""
    assert message.created_at == event.received_at


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, "sha1=abc", "garbage"],
    ids=["missing", "empty", "forged", "wrong-scheme", "garbage"],
)
def test_bad_signatures_are_401(client: Client, signature: str | None) -> None:
    assert_refused(post(client, event_body(), signature), 401)


def test_replay_with_a_changed_body_is_401(client: Client) -> None:
    original = event_body(status="shipped")
    tampered = event_body(status="refunded")
    assert_refused(post(client, tampered, sign_webhook_body(original, SECRET)), 401)


def test_signature_with_another_secret_is_401(client: Client) -> None:
    body = event_body()
    assert_refused(post(client, body, sign_webhook_body(body, "whsec_other")), 401)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"event": 3}',
        b'{"event": "order.shipped"}',
        b'{"event": "order.shipped", "data": {"id": "x"}}',
        b"\xff\xfe",
    ],
    ids=["broken", "list", "event-not-str", "no-data", "bad-id", "not-utf8"],
)
def test_signed_but_invalid_events_are_400(client: Client, body: bytes) -> None:
    assert_refused(post(client, body, sign_webhook_body(body, SECRET)), 400)


def test_oversized_body_is_413(client: Client) -> None:
    body = event_body(padding="x" * 4096)
    assert_refused(post(client, body, sign_webhook_body(body, SECRET)), 413)


def test_get_is_405_json(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_stripe_events_are_verified_and_deduplicated_by_event_id(
    client: Client, settings: Any
) -> None:
    settings.CHECKOUT_STRIPE_WEBHOOK_SECRET = "whsec_stripe"
    payload = json.dumps(
        {
            "id": "evt_123",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": "pi_123", "object": "payment_intent", "metadata": {}}},
        }
    )
    import time

    timestamp = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", "whsec_stripe")
    header = f"t={timestamp},v1={signature}"
    url = reverse("checkout:webhook-stripe")
    bad = client.post(
        url, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00"
    )
    assert bad.status_code == 401
    for _ in range(2):
        ok = client.post(
            url, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
        assert ok.status_code in (200, 202)
    event = WebhookEvent.objects.get()
    assert event.dedup_key == "stripe:evt_123"
    assert event.deliveries == 2


def _stripe_post(client: Client, settings: Any, event_id: str, obj: dict[str, Any]) -> None:
    import time

    settings.CHECKOUT_STRIPE_WEBHOOK_SECRET = "whsec_stripe"
    payload = json.dumps(
        {"id": event_id, "type": "payment_intent.succeeded", "data": {"object": obj}}
    )
    timestamp = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", "whsec_stripe")
    response = client.post(
        reverse("checkout:webhook-stripe"),
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={timestamp},v1={signature}",
    )
    assert response.status_code in (200, 202)


def test_the_log_names_what_each_event_concerns(
    client: Client, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="checkout.services.inbox")
    attempt = "0b5c3f3e-8c1a-4f7e-9d57-2d6c1f0a9b11"
    _stripe_post(
        client,
        settings,
        "evt_1",
        {"id": "pi_1", "object": "payment_intent", "metadata": {"checkout_attempt": attempt}},
    )
    _stripe_post(client, settings, "evt_2", {"id": "pi_2", "object": "payment_intent"})
    body = event_body()
    post(client, body, sign_webhook_body(body, SECRET))

    stored = [r.getMessage() for r in caplog.records if ": stored " in r.getMessage()]
    assert len(stored) == 3
    assert "None" not in " ".join(stored)
    assert stored[0].endswith(
        f"stored stripe payment_intent.succeeded for PaymentIntent pi_1, attempt {attempt}"
    )
    assert stored[1].endswith("for PaymentIntent pi_2, no checkout attempt named")
    assert stored[2].endswith("stored spectra order.shipped for Spectra order 7")
