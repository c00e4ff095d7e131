"""The operations lists: constant queries per page, filters, the stuck-attempt fixes, replay."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from checkout.models import CheckoutAttempt, EmailNotification, Order, OrderEvent, WebhookEvent
from tests.integration.checkout.support import Live

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def make_orders(count: int, start: int = 0) -> list[Order]:
    now = timezone.now()
    return Order.objects.bulk_create(
        Order(
            spectra_id=500_000 + start + i,
            order_number=f"ORD-20260515-{start + i:05d}",
            cart_id=f"cart-{start + i}",
            email=f"shopper{start + i}@example.com",
            customer_name=f"Shopper {start + i}",
            status=("pending", "processing", "shipped", "delivered")[i % 4],
            payment_status="captured",
            is_test=bool(i % 2),
            grand_total=Decimal("12.34"),
            placed_at=now - dt.timedelta(minutes=i),
            items=[{"sku": "SKU", "name": "Thing", "quantity": 1}],
        )
        for i in range(count)
    )


def list_queries(client: Client, **params: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:checkout_order_changelist"), params)
    assert response.status_code == 200
    return len(queries)


def test_the_orders_list_runs_the_same_queries_for_1_or_200_rows(superuser_client: Client) -> None:
    make_orders(1)
    one = list_queries(superuser_client, all="")
    make_orders(199, start=1)
    two_hundred = list_queries(superuser_client, all="")
    assert one == two_hundred
    # Filters and search do not add per-row queries either.
    filtered = list_queries(superuser_client, all="", status="shipped", mode="test", q="Shopper")
    assert filtered <= two_hundred


def test_filters_narrow_the_list(superuser_client: Client) -> None:
    make_orders(8)
    url = reverse("admin:checkout_order_changelist")
    shipped = superuser_client.get(url, {"status": "shipped"}).content.decode()
    assert "ORD-20260515-00002" in shipped
    assert "ORD-20260515-00001" not in shipped
    live = superuser_client.get(url, {"mode": "live"}).content.decode()
    assert "ORD-20260515-00000" in live
    assert "ORD-20260515-00001" not in live
    assert superuser_client.get(url, {"payment_status": "refunded"}).status_code == 200
    assert superuser_client.get(url, {"placed_at__gte": "2020-01-01"}).status_code == 200


def test_webhook_and_email_lists_filter_and_link_to_the_order(superuser_client: Client) -> None:
    order = make_orders(1)[0]
    event = WebhookEvent.objects.create(
        source="spectra",
        event_type="order.shipped",
        dedup_key="k1",
        raw_body=json.dumps({"event": "order.shipped", "data": {"id": order.spectra_id}}),
        signature_valid=False,
        spectra_order_id=order.spectra_id,
        outcome="failed",
        error="boom",
    )
    EmailNotification.objects.create(order=order, kind="confirmation", status="failed", error="550")
    listing = superuser_client.get(
        reverse("admin:checkout_webhookevent_changelist"), {"outcome": "failed"}
    ).content.decode()
    assert order.order_number in listing
    page = superuser_client.get(
        reverse("admin:checkout_webhookevent_change", args=[event.pk])
    ).content.decode()
    assert "order.shipped" in page
    assert "invalid" in page
    assert "boom" in page
    by_order = superuser_client.get(
        reverse("admin:checkout_webhookevent_changelist"), {"spectra_order_id": order.spectra_id}
    )
    assert by_order.status_code == 200
    emails = superuser_client.get(
        reverse("admin:checkout_emailnotification_changelist"),
        {"status": "failed", "order__id__exact": str(order.pk)},
    ).content.decode()
    assert order.order_number in emails
    timeline = superuser_client.get(
        reverse("admin:checkout_order_change", args=[order.pk])
    ).content.decode()
    assert "signature INVALID" in timeline
    assert "550" in timeline


def test_a_forged_webhook_is_never_replayed(superuser_client: Client) -> None:
    order = make_orders(1)[0]
    event = WebhookEvent.objects.create(
        source="spectra",
        event_type="order.cancelled",
        dedup_key="forged",
        raw_body=json.dumps({"event": "order.cancelled", "data": {"id": order.spectra_id}}),
        signature_valid=False,
        spectra_order_id=order.spectra_id,
    )
    url = reverse("admin:checkout_webhookevent_action", args=[event.pk, "replay"])
    response = superuser_client.post(url, follow=True)
    assert "signature did not verify" in response.content.decode()
    order.refresh_from_db()
    assert order.status == "pending"


def test_replaying_a_stored_webhook_applies_it(
    superuser_client: Client, placed_order: Callable[[], Order], live: Live
) -> None:
    order = placed_order()
    data = dict(live.spectra.get_order(order.spectra_id).raw)
    data["status"] = "processing"
    event = WebhookEvent.objects.create(
        source="spectra",
        event_type="order.status_changed",
        dedup_key="replay-me",
        raw_body=json.dumps({"event": "order.status_changed", "data": data}),
        signature_valid=True,
        spectra_order_id=order.spectra_id,
        outcome="failed",
    )
    url = reverse("admin:checkout_webhookevent_action", args=[event.pk, "replay"])
    assert superuser_client.post(url).status_code == 302
    event.refresh_from_db()
    order.refresh_from_db()
    assert event.outcome == "processed"
    assert order.status == "processing"
    assert OrderEvent.objects.filter(order=order, kind="staff", data__action="replay_webhook")


def test_stuck_attempts_are_one_filter_away(superuser_client: Client) -> None:
    old = timezone.now() - dt.timedelta(hours=2)
    review = CheckoutAttempt.objects.create(cart_id="c-review", state="needs_review")
    paid = CheckoutAttempt.objects.create(
        cart_id="c-paid", state="payment_authorized", payment_intent_id="pi_x"
    )
    CheckoutAttempt.objects.filter(pk=paid.pk).update(updated_at=old)
    fresh = CheckoutAttempt.objects.create(cart_id="c-fresh", state="payment_authorized")
    listing = superuser_client.get(
        reverse("admin:checkout_checkoutattempt_changelist"), {"stuck": "all"}
    ).content.decode()
    assert str(review.public_id)[:8] in listing
    assert str(paid.public_id)[:8] in listing
    assert str(fresh.public_id)[:8] not in listing
    page = superuser_client.get(
        reverse("admin:checkout_checkoutattempt_change", args=[paid.pk])
    ).content.decode()
    assert "This attempt is stuck" in page
    assert "Recover now" in page
    assert "Release payment" in page


def test_recover_now_places_the_order_of_a_paid_attempt(
    superuser_client: Client, authorized_attempt: Callable[[], CheckoutAttempt]
) -> None:
    attempt = authorized_attempt()
    url = reverse("admin:checkout_checkoutattempt_action", args=[attempt.pk, "recover"])
    response = superuser_client.post(url, follow=True)
    attempt.refresh_from_db()
    assert attempt.state == "placed"
    order = Order.objects.get(attempt=attempt)
    assert order.order_number in response.content.decode()


def test_release_payment_cancels_the_hold_and_ends_the_attempt(
    superuser_client: Client, authorized_attempt: Callable[[], CheckoutAttempt], live: Live
) -> None:
    attempt = authorized_attempt()
    url = reverse("admin:checkout_checkoutattempt_action", args=[attempt.pk, "release"])
    assert superuser_client.get(url).status_code == 200  # asks first
    assert superuser_client.post(url).status_code == 302
    attempt.refresh_from_db()
    assert attempt.state == "failed"
    assert live.intent(attempt.payment_intent_id)["status"] == "canceled"
    assert OrderEvent.objects.filter(attempt=attempt, kind="staff", data__ok=True).exists()
