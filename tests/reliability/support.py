"""Helpers for the webhook storm and crash scenarios: orders with a history, signed
events, a shuffled delivery stream, and what the worker actually mailed."""

from __future__ import annotations

import dataclasses
import json
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
from django.db import connection

from checkout.models import EmailNotification, Order, OutboxMessage, WebhookEvent
from checkout.services.orders import order_record
from checkout.testing.signing import sign_webhook_body
from tests.integration.webhooks.conftest import ADDRESS, WebhookEnv

SUBJECT = re.compile(
    r"Order (?P<number>ORD-\S+) (?P<what>confirmed|has shipped|was delivered|was cancelled|"
    r"was refunded)"
)
KIND_OF = {
    "confirmed": "confirmation",
    "has shipped": "shipped",
    "was delivered": "delivered",
    "was cancelled": "cancelled",
    "was refunded": "refunded",
}
EMAIL_FOR = {"shipped": "shipped", "delivered": "delivered", "cancelled": "cancelled"}
EMAIL_FOR["refunded"] = "refunded"
# The paths orders take; each step fires order.status_changed (+ order.<status>).
PATHS: tuple[tuple[str, ...], ...] = (
    ("processing",),
    ("processing", "shipped"),
    ("processing", "shipped", "delivered"),
    ("processing", "cancelled"),
    ("processing", "shipped", "delivered", "refunded"),
)


@dataclass
class Event:
    order_number: str
    name: str
    body: bytes


@dataclass
class History:
    """Orders placed and advanced in the sandbox, and every event that would be sent."""

    orders: list[Order] = field(default_factory=list)
    final: dict[str, str] = field(default_factory=dict)  # order number -> final status
    events: list[Event] = field(default_factory=list)


def place_orders(env: WebhookEnv, count: int) -> list[Order]:
    """Place ``count`` live orders in the sandbox and record them (confirmation queued)."""
    client = env.client()
    variant = next(
        v
        for p in client.list_products(per_page=100).items
        for v in p.variants
        if v.quantity_available >= count + 5 and v.price < 50
    )
    placed = []
    for n in range(count):
        cart = client.create_cart()
        client.add_cart_item(cart.id, variant_id=variant.id, quantity=1)
        rate = client.get_shipping_rates(cart.id, address=ADDRESS)[0]
        remote = client.create_order(
            {
                "cart_id": cart.id,
                "billing": {**ADDRESS, "email": f"shopper{n}@example.com", "phone": "5125550100"},
                "shipping": ADDRESS,
                "shipping_method": {
                    "method": rate.service_code,
                    "carrier": rate.carrier,
                    "service": rate.service,
                    "cost": float(rate.price),
                },
                "payment": {"method": "stripe", "gateway_id": f"pi_{uuid.uuid4().hex[:20]}"},
            }
        )
        if not remote.email:
            # The documented answer carries no email; a checkout knows it from its form.
            remote = dataclasses.replace(remote, email=f"shopper{n}@example.com")
        order, _created = order_record(remote=remote, attempt=None)
        placed.append(order)
    return placed


def _body(name: str, data: dict[str, Any], when: float) -> bytes:
    stamp = (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when))
        + f".{int(when * 1e6) % 1000000:06d}+00:00"
    )
    return json.dumps({"event": name, "timestamp": stamp, "data": data}).encode()


def build_history(env: WebhookEnv, orders: list[Order]) -> History:
    """Advance each order along one of ``PATHS`` and build the events Spectra would send."""
    client = env.client()
    history = History(orders=orders)
    for index, order in enumerate(orders):
        data = dict(client.get_order(order.spectra_id).raw)
        history.events.append(
            Event(order.order_number, "order.created", _body("order.created", data, time.time()))
        )
        previous = "pending"
        for status in PATHS[index % len(PATHS)]:
            data = env.advance(order, status)
            changed = {**data, "previous_status": previous}
            history.events.append(
                Event(
                    order.order_number,
                    "order.status_changed",
                    _body("order.status_changed", changed, time.time()),
                )
            )
            if status in ("shipped", "delivered", "cancelled"):
                name = f"order.{status}"
                history.events.append(
                    Event(order.order_number, name, _body(name, data, time.time()))
                )
            previous = status
        history.final[order.order_number] = previous
    return history


def delivery_stream(
    events: list[Event], *, total: int, drop: float, rng: random.Random
) -> tuple[list[Event], list[Event]]:
    """Drop a share of the events; fill ``total`` deliveries with the rest and duplicates,
    shuffled (reordered). Return (stream, dropped)."""
    kept: list[Event] = []
    dropped: list[Event] = []
    for event in events:
        (dropped if rng.random() < drop else kept).append(event)
    stream = list(kept)
    while len(stream) < total:
        stream.append(rng.choice(kept))
    rng.shuffle(stream)
    return stream, dropped


def post_stream(url: str, stream: list[Event], secret: str, *, threads: int = 8) -> Counter[int]:
    """POST every delivery, signed, from ``threads`` threads; return the status counts."""
    session = requests.Session()

    def post(event: Event) -> int:
        headers = {
            "Content-Type": "application/json",
            "X-Webhook-Event": event.name,
            "X-Webhook-Signature": sign_webhook_body(event.body, secret),
        }
        try:
            return session.post(url, data=event.body, headers=headers, timeout=15).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return Counter(pool.map(post, stream))


def wait_for(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def inbox_settled() -> bool:
    """Every stored event processed (or ignored) and every outbox row published."""
    open_events = WebhookEvent.objects.filter(
        outcome__in=[WebhookEvent.Outcome.RECEIVED, WebhookEvent.Outcome.FAILED]
    ).exists()
    return not open_events and not OutboxMessage.objects.filter(published_at__isnull=True).exists()


def ledger_settled() -> bool:
    """Every email in the ledger sent (none queued, sending or failed)."""
    return not EmailNotification.objects.exclude(
        status__in=[EmailNotification.Status.SENT, EmailNotification.Status.SUPPRESSED]
    ).exists()


def mailed(env: WebhookEnv) -> Counter[tuple[str, str]]:
    """(order number, kind) -> how many emails the workers actually wrote."""
    sent: Counter[tuple[str, str]] = Counter()
    for message in env.emails():
        match = SUBJECT.search(str(message["Subject"]))
        if match:
            sent[(match["number"], KIND_OF[match["what"]])] += 1
    return sent


def spectra_mailed(env: WebhookEnv) -> Counter[tuple[str, str]]:
    """(order number, kind) -> the customer emails Spectra itself sent (the documented
    contract's live orders; none on the default contract)."""
    return Counter((str(e["order_number"]), str(e["kind"])) for e in env.sandbox.customer_emails())


def check_emails(env: WebhookEnv, history: History) -> dict[str, int]:
    """Exactly one email per order and kind in the customer's inbox (ours and Spectra's
    together); the final status's email always among them."""
    sent = mailed(env)
    by_spectra = spectra_mailed(env)
    inbox = sent + by_spectra
    doubled = {key: n for key, n in inbox.items() if n != 1}
    assert not doubled, f"emails sent more than once: {doubled}"
    ledger = Counter(
        (n.order.order_number, n.kind)
        for n in EmailNotification.objects.select_related("order").filter(is_resend=False)
    )
    assert set(sent) == set(ledger), set(sent) ^ set(ledger)
    for number, final in history.final.items():
        assert (number, "confirmation") in sent, number
        if final in EMAIL_FOR:
            assert (number, EMAIL_FOR[final]) in sent, (number, final)
    return {
        "emails": sum(sent.values()),
        "spectra_emails": sum(by_spectra.values()),
        "doubled": len(doubled),
    }


def check_states(env: WebhookEnv, history: History) -> None:
    """Every local order is in its final Spectra status."""
    local = dict(Order.objects.values_list("order_number", "status"))
    wrong = {
        n: (local.get(n), final) for n, final in history.final.items() if local.get(n) != final
    }
    assert not wrong, f"orders not converged (local, spectra): {wrong}"
