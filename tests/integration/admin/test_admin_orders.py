"""Staff in Django admin: the orders list and page, actions against the sandbox, permissions."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone

from checkout.models import EmailNotification, Order, OrderEvent, WebhookEvent
from checkout.services.inbox import webhook_event_process
from checkout.services.notifications import email_send
from checkout.testing.signing import sign_webhook_body
from tests.integration.checkout.support import Live

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SECRET = "whsec_admin_test"


def action_url(order: Order, name: str) -> str:
    return reverse("admin:checkout_order_action", args=[order.pk, name])


def change_url(order: Order) -> str:
    return reverse("admin:checkout_order_change", args=[order.pk])


def messages_of(request: HttpRequest) -> list[str]:
    return [str(m) for m in get_messages(request)]


def remote(live: Live, order: Order) -> Mapping[str, Any]:
    return live.spectra.get_order(order.spectra_id).raw


def test_superuser_sees_the_list_and_the_whole_story(
    superuser_client: Client, placed_order: Callable[[], Order]
) -> None:
    order = placed_order()

    listing = superuser_client.get(reverse("admin:checkout_order_changelist"))
    assert listing.status_code == 200
    body = listing.content.decode()
    assert order.order_number in body
    assert "checkout-badge--warning" in body  # pending, as a readable badge
    assert order.email in body

    page = superuser_client.get(change_url(order))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Timeline" in html
    assert "POST /api/v1/orders" in html or "POST" in html  # the API calls made for it
    assert "Order confirmation email" in html  # the email ledger, merged in
    assert "Add tracking and mark shipped" in html
    assert order.items[0]["sku"] in html
    assert "Charged to the card" in html


def test_search_finds_an_order_by_number_email_cart_and_payment_intent(
    superuser_client: Client, placed_order: Callable[[], Order]
) -> None:
    order = placed_order()
    url = reverse("admin:checkout_order_changelist")
    for term in (order.order_number, order.email, order.cart_id, order.payment_intent_id):
        response = superuser_client.get(url, {"q": term})
        assert order.order_number in response.content.decode(), term
    response = superuser_client.get(url, {"q": "nobody@nowhere.example"})
    assert order.order_number not in response.content.decode()


def test_ship_with_tracking_moves_the_order_in_spectra_and_here(
    superuser_client: Client, placed_order: Callable[[], Order], live: Live
) -> None:
    order = placed_order()
    form = superuser_client.get(action_url(order, "ship"))
    assert form.status_code == 200
    assert "Tracking number" in form.content.decode()

    response = superuser_client.post(
        action_url(order, "ship"), {"tracking_number": "1Z999AA10123456784", "carrier": "UPS"}
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "shipped"
    assert order.tracking_number == "1Z999AA10123456784"
    assert remote(live, order)["status"] == "shipped"
    staff_event = OrderEvent.objects.get(order=order, kind=OrderEvent.Kind.STAFF)
    assert staff_event.actor is not None
    assert "1Z999AA10123456784" in staff_event.message
    assert EmailNotification.objects.filter(order=order, kind="shipped").exists()
    assert any("shipped" in m for m in messages_of(response.wsgi_request))


def test_a_refused_action_reports_the_api_reason_and_changes_nothing(
    superuser_client: Client, placed_order: Callable[[], Order], live: Live
) -> None:
    order = placed_order()
    # Cancelled in Spectra, and no webhook told this site: locally still pending, so
    # shipping is offered, and Spectra has the last word.
    requests.post(
        f"{live.sandbox.control_base}/orders/{order.spectra_id}/advance",
        json={"to": "cancelled"},
        timeout=5,
    ).raise_for_status()
    response = superuser_client.post(
        action_url(order, "ship"), {"tracking_number": "1Z1", "carrier": "UPS"}, follow=True
    )
    order.refresh_from_db()
    assert order.status == "pending"
    assert not order.tracking_number
    text = " ".join(messages_of(response.wsgi_request))
    assert "invalid_transition" in text or "409" in text
    assert OrderEvent.objects.filter(
        order=order, kind=OrderEvent.Kind.STAFF, data__ok=False
    ).exists()


def test_actions_are_offered_only_where_they_apply(
    superuser_client: Client, placed_order: Callable[[], Order], live: Live
) -> None:
    order = placed_order()
    page = superuser_client.get(change_url(order)).content.decode()
    assert "Add tracking and mark shipped" in page
    assert "Cancel order" in page
    assert "Mark delivered" not in page

    superuser_client.post(action_url(order, "ship"), {"tracking_number": "1Z2", "carrier": "UPS"})
    order.refresh_from_db()
    assert order.status == "shipped"
    page = superuser_client.get(change_url(order)).content.decode()
    assert "Add tracking and mark shipped" not in page
    assert "Cancel order" not in page
    assert "Mark delivered" in page

    # A second "ship" posted anyway (an old tab) is refused before Spectra is asked.
    again = superuser_client.post(
        action_url(order, "ship"), {"tracking_number": "1Z3", "carrier": "UPS"}, follow=True
    )
    order.refresh_from_db()
    assert order.tracking_number == "1Z2"
    assert "refused: its status is Shipped" in " ".join(messages_of(again.wsgi_request))
    assert EmailNotification.objects.filter(order=order, kind="shipped").count() == 1

    superuser_client.post(action_url(order, "deliver"))
    order.refresh_from_db()
    assert order.status == "delivered"
    page = superuser_client.get(change_url(order)).content.decode()
    for label in ("Add tracking and mark shipped", "Cancel order", "Mark delivered"):
        assert label not in page
    assert "Re-sync from Spectra" in page


def test_the_ship_form_starts_with_the_order_carrier(
    superuser_client: Client, placed_order: Callable[[], Order]
) -> None:
    order = placed_order()
    carrier = order.shipping_method["carrier"]
    assert carrier
    for response in (
        superuser_client.get(action_url(order, "ship")),
        superuser_client.post(
            reverse("admin:checkout_order_changelist"),
            {"action": "ship_orders", "_selected_action": [order.pk]},
        ),
    ):
        html = response.content.decode()
        assert f'<option value="{carrier}" selected>' in html, carrier


def test_cancel_from_the_list_asks_first_then_cancels(
    superuser_client: Client, placed_order: Callable[[], Order], live: Live
) -> None:
    order = placed_order()
    url = reverse("admin:checkout_order_changelist")
    data = {"action": "cancel_orders", "_selected_action": [order.pk]}
    confirm = superuser_client.post(url, data)
    assert confirm.status_code == 200
    assert "Cancel in Spectra?" in confirm.content.decode()
    order.refresh_from_db()
    assert order.status == "pending"

    done = superuser_client.post(url, {**data, "post": "yes"})
    assert done.status_code == 302
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert remote(live, order)["status"] == "cancelled"


def test_resync_picks_up_a_change_made_in_spectra(
    superuser_client: Client, placed_order: Callable[[], Order], live: Live
) -> None:
    order = placed_order()
    requests.post(
        f"{live.sandbox.control_base}/orders/{order.spectra_id}/advance",
        json={"to": "processing"},
        timeout=5,
    ).raise_for_status()
    response = superuser_client.post(action_url(order, "resync"))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "processing"
    assert OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.API_CALL).exists()


def test_resend_an_email_is_logged_as_a_deliberate_resend(
    superuser_client: Client, placed_order: Callable[[], Order]
) -> None:
    order = placed_order()
    confirmation = EmailNotification.objects.get(order=order, kind="confirmation")
    email_send(notification_id=confirmation.pk)
    response = superuser_client.post(action_url(order, "resend-email"), {"kind": "confirmation"})
    assert response.status_code == 302
    resend = EmailNotification.objects.get(order=order, kind="confirmation", is_resend=True)
    assert resend.requested_by is not None
    assert resend.requested_by.username == "boss"
    assert messages_of(response.wsgi_request) == [
        f"{order}: The Order confirmation email is queued again for {order.email}."
    ]


def test_resend_offers_only_the_emails_the_order_has_produced(
    superuser_client: Client, placed_order: Callable[[], Order]
) -> None:
    order = placed_order()
    form = superuser_client.get(action_url(order, "resend-email")).content.decode()
    assert '<option value="confirmation"' in form
    for kind in ("shipped", "delivered", "cancelled", "refunded"):
        assert f'<option value="{kind}"' not in form, kind

    # Posted anyway: a form error, no email, no ledger row.
    refused = superuser_client.post(action_url(order, "resend-email"), {"kind": "cancelled"})
    assert refused.status_code == 200
    assert "Select a valid choice" in refused.content.decode()
    assert not EmailNotification.objects.filter(order=order, kind="cancelled").exists()

    # The confirmation is still queued (no worker here): resending it would mail twice.
    queued = superuser_client.post(
        action_url(order, "resend-email"), {"kind": "confirmation"}, follow=True
    )
    assert "has not been sent yet" in " ".join(messages_of(queued.wsgi_request))
    assert not EmailNotification.objects.filter(order=order, is_resend=True).exists()

    # From the list, each order is checked on its own.
    listing = superuser_client.post(
        reverse("admin:checkout_order_changelist"),
        {"action": "resend_email", "_selected_action": [order.pk]},
    ).content.decode()
    assert '<option value="confirmation"' in listing
    assert '<option value="cancelled"' not in listing


def test_an_order_without_emails_offers_no_resend(
    superuser_client: Client, placed_order: Callable[[], Order]
) -> None:
    order = placed_order()
    EmailNotification.objects.filter(order=order).delete()
    page = superuser_client.get(change_url(order)).content.decode()
    assert "Resend an email" not in page


def test_view_only_staff_see_everything_and_change_nothing(
    login: Callable[[User], Client],
    staff_user: Callable[..., User],
    placed_order: Callable[[], Order],
) -> None:
    order = placed_order()
    client = login(staff_user())
    for url in (
        reverse("admin:checkout_order_changelist"),
        change_url(order),
        reverse("admin:checkout_checkoutattempt_changelist"),
        reverse("admin:checkout_checkoutattempt_change", args=[order.attempt_id]),
        reverse("admin:checkout_webhookevent_changelist"),
        reverse("admin:checkout_emailnotification_changelist"),
        reverse("admin:checkout_outboxmessage_changelist"),
    ):
        assert client.get(url).status_code == 200, url
    page = client.get(change_url(order)).content.decode()
    assert "Timeline" in page
    assert "Add tracking and mark shipped" not in page
    assert 'name="_save"' not in page

    assert client.get(action_url(order, "ship")).status_code == 403
    assert client.post(action_url(order, "cancel")).status_code == 403
    listing = client.post(
        reverse("admin:checkout_order_changelist"),
        {"action": "cancel_orders", "_selected_action": [order.pk], "post": "yes"},
    )
    assert listing.status_code in (200, 302)
    order.refresh_from_db()
    assert order.status == "pending"


def test_each_action_needs_its_own_permission(
    login: Callable[[User], Client],
    staff_user: Callable[..., User],
    placed_order: Callable[[], Order],
) -> None:
    order = placed_order()
    client = login(staff_user("ship_order"))
    page = client.get(change_url(order)).content.decode()
    assert "Add tracking and mark shipped" in page
    assert "Cancel order" not in page
    assert client.post(action_url(order, "cancel")).status_code == 403
    assert client.post(action_url(order, "resend-email"), {"kind": "shipped"}).status_code == 403

    shipped = client.post(action_url(order, "ship"), {"tracking_number": "X1", "carrier": "FedEx"})
    assert shipped.status_code == 302
    order.refresh_from_db()
    assert order.status == "shipped"


def _deliver_webhook(client: Client, settings: Any, event: str, data: Mapping[str, Any]) -> None:
    """Post a signed Spectra delivery and process it, as the worker would."""
    body = json.dumps({"event": event, "timestamp": "2026-05-18T14:23:00+00:00", "data": data})
    response = client.post(
        reverse("checkout:webhook-spectra"),
        data=body.encode(),
        content_type="application/json",
        headers={"X-Webhook-Signature": sign_webhook_body(body.encode(), SECRET)},
    )
    assert response.status_code in (200, 202), response.content
    event_row = WebhookEvent.objects.order_by("-id").first()
    assert event_row is not None
    webhook_event_process(webhook_event_id=event_row.pk)


def test_expected_duplicates_fold_into_one_quiet_line(
    superuser_client: Client, placed_order: Callable[[], Order], live: Live, settings: Any
) -> None:
    settings.CHECKOUT_WEBHOOK_SECRET = SECRET
    order = placed_order()
    # Spectra announces the order again; staff ship it, and the moves it made come back
    # as webhooks afterwards: processing (late), then the shipment twice (status_changed
    # and shipped). Four updates that change nothing, as designed.
    _deliver_webhook(superuser_client, settings, "order.created", remote(live, order))
    superuser_client.post(action_url(order, "ship"), {"tracking_number": "1Z9", "carrier": "UPS"})
    shipped = remote(live, order)
    processing = {**shipped, "status": "processing", "tracking_number": None}
    _deliver_webhook(superuser_client, settings, "order.status_changed", processing)
    _deliver_webhook(superuser_client, settings, "order.status_changed", shipped)
    _deliver_webhook(superuser_client, settings, "order.shipped", shipped)
    # A status this site does not know is not expected: it keeps a line of its own.
    _deliver_webhook(superuser_client, settings, "order.updated", {**shipped, "status": "lost"})
    assert OrderEvent.objects.filter(order=order, kind="ignored").count() == 5

    html = superuser_client.get(change_url(order)).content.decode()
    assert "Duplicate" not in html
    assert "Stale" not in html
    assert html.count("Repeated updates") == 1
    assert (
        "4 updates changed nothing: they repeated or preceded the order&#x27;s status "
        "(expected)." in html
    )
    origins = (
        "order.created (pending) · order.status_changed (processing; the order was already "
        "shipped) · order.status_changed (shipped) · order.shipped (shipped)"
    )
    assert origins in html
    assert html.count("Ignored event") == 1
    assert "Unknown status lost ignored" in html


def test_the_timeline_and_the_header_show_dates_in_one_format(
    superuser_client: Client, placed_order: Callable[[], Order]
) -> None:
    order = placed_order()
    html = superuser_client.get(change_url(order)).content.decode()
    # Django's DATETIME_FORMAT for the active language: what the admin's own fields use.
    placed = formats.date_format(timezone.localtime(order.placed_at), "DATETIME_FORMAT")
    header = html[: html.index("checkout-timeline")]
    assert placed in header
    timeline = html[html.index("checkout-timeline") :]
    shown = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', timeline)
    assert len(shown) > 3
    for iso, text in shown:
        at = timezone.localtime(dt.datetime.fromisoformat(iso))
        assert text == formats.date_format(at, "DATETIME_FORMAT"), (iso, text)


def test_an_unpaid_order_needs_attention_until_staff_verify_its_payment(
    superuser_client: Client, placed_order: Callable[[], Order], live: Live
) -> None:
    order = placed_order()
    # As if Stripe had refused to answer when the order was checked.
    Order.objects.filter(pk=order.pk).update(capture_state=Order.Capture.FAILED)
    listing = reverse("admin:checkout_order_changelist")
    assert (
        order.order_number in superuser_client.get(listing, {"capture": "failed"}).content.decode()
    )
    assert "Verify payment" in superuser_client.get(change_url(order)).content.decode()

    response = superuser_client.post(action_url(order, "verify-payment"))

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.capture_state == Order.Capture.CAPTURED  # the sandbox had captured it
    flagged = superuser_client.get(listing, {"capture": "failed"}).context["cl"].result_list
    assert list(flagged) == []
    assert order.events.filter(kind="staff", message__startswith="Payment checked").exists()
