"""The sandbox's state and its lock: what ``reset`` seeds, the clock, and the API keys.

One re-entrant lock guards all state. Public methods of the store take it; ``_`` helpers
expect it held.
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from checkout.testing.sandbox.config import KeySpec, SandboxConfig
from checkout.testing.sandbox.contract import (
    CUSTOMER_EMAIL_FOR_EVENT,
    CUSTOMER_EMAIL_FOR_STATUS,
    event_data,
    order_answer,
)
from checkout.testing.sandbox.records import Cart, Order, iso
from checkout.testing.sandbox.seed import (
    GiftCard,
    Product,
    Promo,
    TaxRule,
    Variant,
    seed_catalog,
    seed_gift_cards,
    seed_promos,
    seed_tax_rules,
)
from checkout.testing.sandbox.webhooks import WebhookHub


class StoreState:
    """All sandbox state, seeded by ``reset``; the store's sections add the rules."""

    def __init__(self, config: SandboxConfig, hub: WebhookHub) -> None:
        self.config = config
        self.hub = hub
        self.lock = threading.RLock()
        self.clock_offset = timedelta(0)
        self.keys: dict[str, KeySpec] = config.key_map()
        self.revoked: set[str] = set()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            now = self.now()
            self.products: list[Product] = seed_catalog(self.config.seed)
            self.variants: dict[int, Variant] = {v.id: v for p in self.products for v in p.variants}
            self.product_by_id: dict[int, Product] = {p.id: p for p in self.products}
            self.promos: dict[str, Promo] = seed_promos(now)
            self.gift_cards: dict[str, GiftCard] = seed_gift_cards(now)
            self.tax_rules: list[TaxRule] = seed_tax_rules()
            self.carts: dict[str, Cart] = {}
            self.orders: dict[int, Order] = {}
            self.day_sequence: dict[str, int] = {}
            self.order_ids = itertools.count(self.config.order_id_start)
            self.item_ids = itertools.count(1)
            self.counters: dict[str, int] = {"captures": 0, "gateway_ids_recorded": 0}
            # Customer emails Spectra sent (documented contract, live orders only).
            self.customer_emails: list[dict[str, Any]] = []

    @property
    def documented(self) -> bool:
        return self.config.documented

    def _answer(self, order: Order) -> dict[str, Any]:
        """The order as the API answers it under this contract."""
        return order_answer(order, self.documented)

    def _fire(self, event: str, order: Order, previous_status: str | None = None) -> None:
        """Send ``event`` about ``order`` to the subscribers; under the documented contract
        a live order's event also emails the customer (recorded, never sent)."""
        data = event_data(event, order, self.documented, previous_status)
        self.hub.fire(event, data, order.is_test)
        if not self.documented or order.is_test:
            return
        kind = CUSTOMER_EMAIL_FOR_EVENT.get(event)
        if event == "order.status_changed":
            kind = CUSTOMER_EMAIL_FOR_STATUS.get(order.status)
        if kind is not None:
            self.customer_emails.append(
                {
                    "kind": kind,
                    "to": order.email,
                    "order_id": order.id,
                    "order_number": order.order_number,
                    "sent_at": iso(self.now()),
                }
            )

    def now(self) -> datetime:
        return datetime.now(UTC) + self.clock_offset

    def key(self, secret: str) -> KeySpec | None:
        with self.lock:
            if secret in self.revoked:
                return None
            return self.keys.get(secret)

    def add_key(self, spec: KeySpec) -> None:
        with self.lock:
            self.keys[spec.key] = spec
            self.revoked.discard(spec.key)

    def revoke_key(self, secret: str) -> bool:
        with self.lock:
            if secret not in self.keys:
                return False
            self.revoked.add(secret)
            return True
