"""Webhook subscriptions and their delivery: signing, the background worker, its faults.

Deliveries are fire-and-forget [doc]: one POST per (event, subscription), a timeout, no
retry. A single worker thread drains a queue so events leave in the order they happened,
unless a configured fault drops, duplicates, delays or reorders them.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import queue
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from checkout.testing.sandbox.faults import WebhookFaults

logger = logging.getLogger(__name__)

MAX_DELIVERIES_KEPT = 50
RESPONSE_BODY_LIMIT = 1000


@dataclass
class Subscription:
    id: int
    url: str
    events: list[str]
    secret: str
    created_at: datetime
    sees_test_orders: bool
    active: bool = True
    deliveries: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=MAX_DELIVERIES_KEPT)
    )

    def wants(self, event: str) -> bool:
        return self.active and ("*" in self.events or event in self.events)


@dataclass
class Delivery:
    subscription: Subscription
    event: str
    body: bytes
    delivery_id: int
    duplicate: bool = False


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookHub:
    """Owns subscriptions, the delivery queue and the worker thread."""

    def __init__(self, faults: WebhookFaults, timeout: float, reorder_hold: float) -> None:
        self.faults = faults
        self.timeout = timeout
        self.reorder_hold = reorder_hold
        self._lock = threading.Lock()
        self._subs: dict[int, Subscription] = {}
        self._sub_ids = itertools.count(1)
        self._delivery_ids = itertools.count(1)
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._held: list[tuple[float, Delivery]] = []
        self._session = requests.Session()
        self.counters: dict[str, int] = self._zero_counters()
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    @staticmethod
    def _zero_counters() -> dict[str, int]:
        return {
            "enqueued": 0,
            "attempted": 0,
            "succeeded": 0,
            "failed": 0,
            "dropped": 0,
            "duplicated": 0,
            "reordered": 0,
            "delayed": 0,
        }

    # --- subscriptions -------------------------------------------------------------
    def subscribe(self, url: str, events: list[str], sees_test_orders: bool) -> Subscription:
        with self._lock:
            sub = Subscription(
                id=next(self._sub_ids),
                url=url,
                events=events,
                secret="whsec_" + secrets.token_hex(24),
                created_at=datetime.now(UTC),
                sees_test_orders=sees_test_orders,
            )
            self._subs[sub.id] = sub
            return sub

    def get(self, sub_id: int) -> Subscription | None:
        with self._lock:
            return self._subs.get(sub_id)

    def subscriptions(self) -> list[Subscription]:
        with self._lock:
            return sorted(self._subs.values(), key=lambda s: s.id)

    def delete(self, sub_id: int) -> bool:
        with self._lock:
            sub = self._subs.pop(sub_id, None)
            if sub:
                sub.active = False
            return sub is not None

    def deliveries(self, sub: Subscription) -> list[dict[str, Any]]:
        with self._lock:
            return list(reversed(sub.deliveries))

    def reset(self) -> None:
        with self._lock:
            for sub in self._subs.values():
                sub.active = False
            self._subs.clear()
            self._held.clear()
            self.counters = self._zero_counters()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    def pending(self) -> int:
        with self._lock:
            return self._queue.qsize() + len(self._held)

    # --- firing --------------------------------------------------------------------
    def fire(self, event: str, order: dict[str, Any], is_test: bool) -> None:
        """Queue ``event`` for every active subscription that wants it and may see it."""
        payload = {"event": event, "timestamp": _iso_now(), "data": order}
        body = json.dumps(payload, separators=(",", ":")).encode()
        with self._lock:
            targets = [
                s
                for s in self._subs.values()
                if s.wants(event) and (s.sees_test_orders or not is_test)
            ]
            for sub in targets:
                self.counters["enqueued"] += 1
                self._queue.put(Delivery(sub, event, body, next(self._delivery_ids)))

    def _run(self) -> None:
        while True:
            timeout = self.reorder_hold / 4 if self._held else None
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            if item is not None:
                self._dispatch(item)
            self._flush_held(force=item is not None and not self._is_held(item))

    def _is_held(self, delivery: Delivery) -> bool:
        with self._lock:
            return any(d is delivery for _, d in self._held)

    def _dispatch(self, delivery: Delivery) -> None:
        if not delivery.subscription.active:
            return
        if self.faults.pick("drop"):
            self._count("dropped")
            self._record(delivery, None, "", "dropped by sandbox fault injection", 0.0)
            logger.info("webhook %s #%s dropped (fault)", delivery.event, delivery.delivery_id)
            return
        if self.faults.pick("reorder"):
            self._count("reordered")
            with self._lock:
                self._held.append((time.monotonic(), delivery))
            return
        if self.faults.pick("delay"):
            self._count("delayed")
            seconds = self.faults.delay_seconds()
            timer = threading.Timer(seconds, self._send_with_duplicates, args=(delivery,))
            timer.daemon = True
            timer.start()
            return
        self._send_with_duplicates(delivery)

    def _flush_held(self, force: bool) -> None:
        with self._lock:
            if not self._held:
                return
            oldest = self._held[0][0]
            if not force and time.monotonic() - oldest < self.reorder_hold:
                return
            held = [d for _, d in reversed(self._held)]
            self._held.clear()
        for delivery in held:
            self._send_with_duplicates(delivery)

    def _send_with_duplicates(self, delivery: Delivery) -> None:
        self._send(delivery)
        if self.faults.pick("duplicate"):
            self._count("duplicated")
            self._send(delivery)

    def _count(self, name: str) -> None:
        with self._lock:
            self.counters[name] += 1

    def _send(self, delivery: Delivery) -> None:
        sub = delivery.subscription
        if not sub.active:
            return
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Spectra-Sandbox-Webhooks/1.0",
            "X-Webhook-Event": delivery.event,
            "X-Webhook-Signature": sign(delivery.body, sub.secret),
        }
        self._count("attempted")
        started = time.monotonic()
        status: int | None = None
        text = ""
        error = ""
        try:
            response = self._session.post(
                sub.url, data=delivery.body, headers=headers, timeout=self.timeout
            )
            status = response.status_code
            text = response.text[:RESPONSE_BODY_LIMIT]
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:RESPONSE_BODY_LIMIT]
        duration_ms = (time.monotonic() - started) * 1000
        self._count("failed" if error else "succeeded")
        self._record(delivery, status, text, error or None, duration_ms)
        logger.debug("webhook %s to subscription %s: %s", delivery.event, sub.id, status)

    def _record(
        self,
        delivery: Delivery,
        status: int | None,
        text: str,
        error: str | None,
        duration_ms: float,
    ) -> None:
        with self._lock:
            delivery.subscription.deliveries.append(
                {
                    "id": delivery.delivery_id,
                    "event": delivery.event,
                    "url": delivery.subscription.url,
                    "status_code": status,
                    "response_body": text,
                    "error": error,
                    "duration_ms": round(duration_ms, 1),
                    "delivered_at": _iso_now(),
                }
            )


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
