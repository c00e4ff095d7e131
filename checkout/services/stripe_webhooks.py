"""Register the site's Stripe webhook: on Stripe as a ``WebhookEndpoint``, on localstripe
through its ``/_config/webhooks`` route.

Stripe shows an endpoint's signing secret only in the answer that creates it, so a second
run cannot reuse an old endpoint's secret. ``stripe_webhook_register`` creates the new
endpoint first, then deletes every other endpoint with the same URL: afterwards exactly one
delivers there, signed with the secret just returned, and none is left signing with a
secret the site does not have (its deliveries would all be refused with 401).

localstripe has no ``/v1/webhook_endpoints``; ``POST /_config/webhooks/<id>`` with a url,
a secret of our choosing and the events registers (or replaces) the registration ``<id>``.
The id is derived from the URL, so registering the same URL again replaces it rather than
adding a second one. localstripe forgets registrations when it stops.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
import stripe

from checkout.services.inbox import STRIPE_EVENTS

logger = logging.getLogger(__name__)

STRIPE_API_ORIGIN = "https://api.stripe.com"
LOCALSTRIPE_TIMEOUT = 10.0
ENDPOINT_DESCRIPTION = "spectra-checkout"


def same_webhook_url(a: str, b: str) -> bool:
    """Whether two webhook URLs name the same endpoint (a trailing slash aside)."""
    return a.rstrip("/") == b.rstrip("/")


def stripe_is_local(api_base: str | None) -> bool:
    """Whether the configured Stripe API base is another server (localstripe), not Stripe."""
    return bool(api_base) and str(api_base).rstrip("/") != STRIPE_API_ORIGIN


@contextlib.contextmanager
def _stripe_bodies_unlogged() -> Iterator[None]:
    """Keep the SDK from logging the answer that carries the secret.

    The ``stripe`` logger writes every response body at DEBUG, and this one holds the
    endpoint's signing secret, which must never reach a log.
    """
    stripe_logger = logging.getLogger("stripe")
    level = stripe_logger.level
    stripe_logger.setLevel(max(logging.INFO, stripe_logger.getEffectiveLevel()))
    try:
        yield
    finally:
        stripe_logger.setLevel(level)


@dataclass(frozen=True)
class StripeRegistration:
    """What a registration did: the endpoint that now delivers, and the old ones."""

    endpoint_id: str
    secret: str
    events: tuple[str, ...]
    removed: tuple[str, ...] = ()
    # Earlier endpoints to the URL that could not be deleted: (id, reason).
    left: tuple[tuple[str, str], ...] = field(default=())


def stripe_webhook_register(
    *, client: stripe.StripeClient, url: str, events: tuple[str, ...] = STRIPE_EVENTS
) -> StripeRegistration:
    """Create a ``WebhookEndpoint`` for ``url`` and delete every other one to it.

    Raises ``stripe.StripeError`` when listing or creating fails (nothing was deleted then).
    """
    earlier = [
        endpoint
        for endpoint in client.v1.webhook_endpoints.list(params={"limit": 100}).auto_paging_iter()
        if same_webhook_url(str(endpoint.url), url)
    ]
    enabled: list[Any] = list(events)  # the SDK types event names as literals
    with _stripe_bodies_unlogged():
        endpoint = client.v1.webhook_endpoints.create(
            params={"url": url, "enabled_events": enabled, "description": ENDPOINT_DESCRIPTION}
        )
    logger.info("Stripe webhook endpoint %s created for %s", endpoint.id, url)
    removed: list[str] = []
    left: list[tuple[str, str]] = []
    # Only after the new one exists, so deliveries to the URL never stop.
    for old in earlier:
        if old.id == endpoint.id:
            continue
        try:
            client.v1.webhook_endpoints.delete(old.id)
        except stripe.StripeError as exc:
            left.append((str(old.id), exc.user_message or exc.__class__.__name__))
        else:
            logger.info("Stripe webhook endpoint %s to the same URL deleted", old.id)
            removed.append(str(old.id))
    return StripeRegistration(
        endpoint_id=str(endpoint.id),
        secret=str(endpoint.secret or ""),
        events=tuple(events),
        removed=tuple(removed),
        left=tuple(left),
    )


def localstripe_registration_id(url: str) -> str:
    """The id localstripe keeps ``url``'s registration under (the same for the same URL)."""
    return "checkout-" + hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]


def localstripe_webhook_register(
    *, api_base: str, url: str, events: tuple[str, ...] = STRIPE_EVENTS
) -> StripeRegistration:
    """Register (or replace) ``url`` with localstripe under a new secret; return it.

    Raises ``requests.RequestException`` when localstripe does not accept it.
    """
    secret = "whsec_" + secrets.token_hex(24)
    registration = localstripe_registration_id(url)
    response = requests.post(
        f"{api_base.rstrip('/')}/_config/webhooks/{registration}",
        json={"url": url, "secret": secret, "events": list(events)},
        timeout=LOCALSTRIPE_TIMEOUT,
    )
    response.raise_for_status()
    logger.info("localstripe webhook %s registered for %s", registration, url)
    return StripeRegistration(endpoint_id=registration, secret=secret, events=tuple(events))
