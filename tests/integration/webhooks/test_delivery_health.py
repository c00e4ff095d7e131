"""The doctor tells deliveries that verify from deliveries refused for a stale secret.

Real senders: the sandbox delivers Spectra's events and localstripe Stripe's, to the
live server, signed with the secret of their subscription. A site that stores another
secret refuses every delivery with 401; the doctor must say so (FAIL), not OK.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import stripe
from django.core.management import call_command
from django.urls import reverse

from checkout.doctor import FAIL, OK, WARN
from checkout.doctor.deliveries import check_spectra_deliveries, check_stripe_deliveries
from checkout.models import WebhookEvent
from checkout.services.payments import clear_stripe_clients
from checkout.services.webhook_health import (
    webhook_delivery_health,
    webhook_refusal_note,
    webhook_refusals_forget,
)
from checkout.testing.servers import LocalstripeProcess
from checkout.testing.stripe_helpers import create_authorized_payment_intent
from tests.integration.webhooks.conftest import WebhookEnv, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_refusals_noted() -> Iterator[None]:
    for source in ("spectra", "stripe"):
        webhook_refusals_forget(source=source)
    yield
    for source in ("spectra", "stripe"):
        webhook_refusals_forget(source=source)


def refused(source: str) -> bool:
    return webhook_delivery_health(source=source).last_refused is not None


def test_spectra_deliveries_with_a_stale_secret_fail_the_doctor_until_it_is_fixed(
    webhook_env: WebhookEnv, settings: Any
) -> None:
    good_secret = settings.CHECKOUT_WEBHOOK_SECRET  # the subscription's, from the fixture
    settings.CHECKOUT_WEBHOOK_SECRET = "whsec_stale_from_an_earlier_registration"
    assert check_spectra_deliveries(listed=True).status == WARN  # nothing arrived yet

    order = webhook_env.place_order()  # Spectra sends order.created: refused with 401
    wait_for(lambda: refused("spectra"), timeout=30, what="the refused order.created")
    assert not WebhookEvent.objects.filter(source="spectra").exists()
    result = check_spectra_deliveries(listed=True)
    assert result.status == FAIL, result
    assert "are refused" in result.detail
    assert "checkout_register_webhook" in result.detail

    settings.CHECKOUT_WEBHOOK_SECRET = good_secret
    webhook_env.advance(order, "processing")
    wait_for(
        lambda: WebhookEvent.objects.filter(source="spectra").exists(),
        timeout=30,
        what="an accepted delivery",
    )
    result = check_spectra_deliveries(listed=True)
    assert result.status == OK, result
    assert "the last at" in result.detail


def _stripe_site(settings: Any, localstripe: LocalstripeProcess) -> None:
    localstripe.reset()
    settings.CHECKOUT_STRIPE_API_BASE = localstripe.api_base
    settings.CHECKOUT_STRIPE_SECRET_KEY = localstripe.secret_key
    settings.CHECKOUT_STRIPE_PUBLISHABLE_KEY = localstripe.publishable_key
    clear_stripe_clients()


def register_stripe(url: str) -> str:
    """Run the command; return the secret it printed."""
    out = io.StringIO()
    call_command("checkout_register_stripe_webhook", url=url, stdout=out)
    lines = [line.strip() for line in out.getvalue().splitlines()]
    return next(line for line in lines if line.startswith("whsec_"))


def paid(client: stripe.StripeClient) -> str:
    """Capture a card payment: localstripe sends payment_intent.succeeded about 1 s later."""
    intent = create_authorized_payment_intent(client, Decimal("12.34"))
    client.v1.payment_intents.capture(intent.id)
    return str(intent.id)


def test_registered_with_localstripe_its_signed_events_are_accepted(
    settings: Any,
    live_server: Any,
    localstripe: LocalstripeProcess,
    localstripe_stripe_client: stripe.StripeClient,
) -> None:
    _stripe_site(settings, localstripe)
    url = live_server.url + reverse("checkout:webhook-stripe")
    first = register_stripe(url)
    second = register_stripe(url)  # a second run is safe: it replaces the first
    assert first != second
    settings.CHECKOUT_STRIPE_WEBHOOK_SECRET = second

    intent = paid(localstripe_stripe_client)
    event = wait_for(
        lambda: WebhookEvent.objects.filter(source="stripe", object_id=intent).first(),
        timeout=30,
        what="the payment_intent.succeeded delivery",
    )
    assert event.event_type == "payment_intent.succeeded"
    assert event.signature_valid
    time.sleep(1.0)  # a registration left over from the first run would deliver too
    assert not refused("stripe")
    result = check_stripe_deliveries()
    assert result.status == OK, result


def test_stripe_deliveries_with_a_stale_secret_fail_the_doctor(
    settings: Any,
    live_server: Any,
    localstripe: LocalstripeProcess,
    localstripe_stripe_client: stripe.StripeClient,
) -> None:
    _stripe_site(settings, localstripe)
    url = live_server.url + reverse("checkout:webhook-stripe")
    stale = register_stripe(url)
    current = register_stripe(url)
    settings.CHECKOUT_STRIPE_WEBHOOK_SECRET = stale  # the merchant kept the old one

    paid(localstripe_stripe_client)
    wait_for(lambda: refused("stripe"), timeout=30, what="the refused delivery")
    result = check_stripe_deliveries()
    assert result.status == FAIL, result
    assert "checkout_register_stripe_webhook" in result.detail
    assert "CHECKOUT_STRIPE_WEBHOOK_SECRET" in result.detail

    settings.CHECKOUT_STRIPE_WEBHOOK_SECRET = current
    intent = paid(localstripe_stripe_client)
    wait_for(
        lambda: WebhookEvent.objects.filter(source="stripe", object_id=intent).exists(),
        timeout=30,
        what="the accepted delivery",
    )
    assert check_stripe_deliveries().status == OK


# --- The verdicts, from stored deliveries and noted refusals -------------------------------

NOW = dt.datetime(2026, 5, 18, 12, 0, tzinfo=dt.UTC)


def accepted_at(source: str, moment: dt.datetime) -> None:
    event = WebhookEvent.objects.create(
        source=source,
        event_type="order.created" if source == "spectra" else "payment_intent.succeeded",
        dedup_key=f"{source}:{moment.timestamp()}",
        raw_body="{}",
        signature_valid=True,
    )
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=moment)


def refused_at(source: str, moment: dt.datetime) -> None:
    webhook_refusal_note(source=source, now=moment.timestamp())


@pytest.mark.parametrize("source", ["spectra", "stripe"])
def test_refusals_after_the_last_verified_delivery_fail(source: str) -> None:
    check = {
        "spectra": lambda: check_spectra_deliveries(listed=True),
        "stripe": check_stripe_deliveries,
    }[source]
    accepted_at(source, NOW - dt.timedelta(days=2))
    assert check().status == OK
    refused_at(source, NOW - dt.timedelta(hours=3))
    refused_at(source, NOW - dt.timedelta(hours=2, minutes=30))
    result = check()
    assert result.status == FAIL
    assert "since 2026-05-18T09:00:00+00:00 are refused" in result.detail
    accepted_at(source, NOW)  # the secret was fixed
    assert check().status == OK


def test_refusals_among_verified_deliveries_warn_of_a_second_subscription() -> None:
    # Each event comes twice: signed with the site's secret, and with an older one.
    for minute in range(0, 30, 10):
        accepted_at("spectra", NOW + dt.timedelta(minutes=minute))
        refused_at("spectra", NOW + dt.timedelta(minutes=minute, seconds=1))
    result = check_spectra_deliveries(listed=True)
    assert result.status == WARN
    assert "another subscription" in result.detail
