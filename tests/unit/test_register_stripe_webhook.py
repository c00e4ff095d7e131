"""``checkout_register_stripe_webhook`` against Stripe, whose HTTP is mocked with ``responses``.

The answers have the shapes of Stripe's API reference (``GET``/``POST
/v1/webhook_endpoints``, ``DELETE /v1/webhook_endpoints/{id}``): one endpoint is left
delivering to the URL, for the events the app handles, signed with the printed secret.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from django.core.management import CommandError, call_command

from checkout.services import payments
from checkout.services.inbox import STRIPE_EVENTS

STRIPE = "https://api.stripe.com/v1/webhook_endpoints"
URL = "https://shop.example.com/checkout/webhooks/stripe/"
NEW_SECRET = "whsec_new0123456789abcdefABCDEF"


@pytest.fixture(autouse=True)
def _real_stripe(settings: Any) -> Iterator[None]:
    settings.CHECKOUT_STRIPE_API_BASE = None  # Stripe itself
    settings.CHECKOUT_STRIPE_SECRET_KEY = "sk_test_unit"
    payments.clear_stripe_clients()
    yield
    payments.clear_stripe_clients()


def endpoint(id: str, url: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": id,
        "object": "webhook_endpoint",
        "api_version": None,
        "application": None,
        "created": 1_700_000_000,
        "description": None,
        "enabled_events": ["payment_intent.succeeded"],
        "livemode": False,
        "metadata": {},
        "status": "enabled",
        "url": url,
        **extra,
    }


def listing(*endpoints: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": list(endpoints),
        "has_more": False,
        "url": "/v1/webhook_endpoints",
    }


def register(**kwargs: Any) -> str:
    out = io.StringIO()
    call_command("checkout_register_stripe_webhook", url=URL, stdout=out, **kwargs)
    return out.getvalue()


@responses.activate
def test_creates_one_endpoint_deletes_the_stale_one_and_leaves_other_urls(
    caplog: pytest.LogCaptureFixture,
) -> None:
    responses.get(
        STRIPE,
        json=listing(
            endpoint("we_stale", URL.rstrip("/")),  # the same URL without its slash
            endpoint("we_other", "https://elsewhere.example.com/hooks/"),
        ),
    )
    responses.post(
        STRIPE,
        json=endpoint("we_new", URL, secret=NEW_SECRET, enabled_events=list(STRIPE_EVENTS)),
    )
    deleted = responses.delete(
        f"{STRIPE}/we_stale", json={"id": "we_stale", "object": "webhook_endpoint", "deleted": True}
    )
    with caplog.at_level(logging.DEBUG):
        output = register()

    post = next(c for c in responses.calls if c.request.method == "POST")
    created = parse_qs(str(post.request.body))
    assert created["url"] == [URL]
    events = [v for k, values in created.items() if k.startswith("enabled_events[") for v in values]
    assert sorted(events) == sorted(STRIPE_EVENTS)
    assert deleted.call_count == 1
    assert not [c for c in responses.calls if "we_other" in str(c.request.url)]
    # The new endpoint exists before the old one goes: deliveries never stop.
    methods = [c.request.method for c in responses.calls]
    assert methods.index("POST") < methods.index("DELETE")
    assert NEW_SECRET in output
    assert "CHECKOUT_STRIPE_WEBHOOK_SECRET" in output
    assert "Deleted the earlier endpoint we_stale" in output
    assert NEW_SECRET not in caplog.text  # printed, never logged


@responses.activate
def test_a_second_run_replaces_the_first_runs_endpoint() -> None:
    responses.get(STRIPE, json=listing(endpoint("we_first", URL)))
    responses.post(STRIPE, json=endpoint("we_second", URL, secret="whsec_second"))
    deleted = responses.delete(
        f"{STRIPE}/we_first", json={"id": "we_first", "object": "webhook_endpoint", "deleted": True}
    )
    output = register()
    assert "whsec_second" in output
    assert deleted.call_count == 1


@responses.activate
def test_an_endpoint_that_cannot_be_deleted_fails_the_command_and_names_it() -> None:
    responses.get(STRIPE, json=listing(endpoint("we_stale", URL)))
    responses.post(STRIPE, json=endpoint("we_new", URL, secret=NEW_SECRET))
    responses.delete(
        f"{STRIPE}/we_stale",
        status=404,
        json={"error": {"type": "invalid_request_error", "message": "No such webhook endpoint"}},
    )
    out = io.StringIO()
    with pytest.raises(CommandError, match="we_stale"):
        call_command("checkout_register_stripe_webhook", url=URL, stdout=out)
    assert NEW_SECRET in out.getvalue()  # the new endpoint exists: its secret is shown


@responses.activate
def test_a_refused_creation_deletes_nothing() -> None:
    responses.get(STRIPE, json=listing(endpoint("we_stale", URL)))
    responses.post(
        STRIPE,
        status=400,
        json={"error": {"type": "invalid_request_error", "message": "Invalid URL"}},
    )
    with pytest.raises(CommandError, match="Stripe refused the registration"):
        register()
    assert not [c for c in responses.calls if c.request.method == "DELETE"]


def test_a_relative_url_is_refused_before_any_call() -> None:
    with pytest.raises(CommandError, match="absolute"):
        call_command("checkout_register_stripe_webhook", url="/checkout/webhooks/stripe/")


@responses.activate
def test_against_localstripe_it_registers_through_its_config_route(settings: Any) -> None:
    settings.CHECKOUT_STRIPE_API_BASE = "http://127.0.0.1:8420"
    route = responses.post(re.compile(r"http://127\.0\.0\.1:8420/_config/webhooks/[\w-]+$"))
    output = register()
    body = json.loads(route.calls[0].request.body)
    assert body["url"] == URL
    assert sorted(body["events"]) == sorted(STRIPE_EVENTS)
    assert body["secret"] in output
    assert body["secret"].startswith("whsec_")
