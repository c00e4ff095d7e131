"""The sandbox's store: all in-memory state and the API's business rules, by section.

One re-entrant lock guards all state (``state``). The rules live with their section:
``catalog``, ``carts``, ``pricing`` (shipping, tax, promos, gift cards), ``placement``
(``POST /orders``: reserve under the lock, verify the payment outside it, then commit or
release) and ``orders`` (reading orders and moving them through their statuses).
"""

from __future__ import annotations

from typing import Any

from checkout.testing.sandbox.catalog import CatalogMixin
from checkout.testing.sandbox.orders import OrdersMixin
from checkout.testing.sandbox.placement import PlacementMixin
from checkout.testing.sandbox.records import money


class Store(PlacementMixin, OrdersMixin, CatalogMixin):
    """All sandbox state. Public methods take the lock; ``_`` helpers expect it held."""

    def state(self) -> dict[str, Any]:
        """A summary for tests and the control API: counts, captures, balances, usage."""
        with self.lock:
            by_status: dict[str, int] = {}
            for order in self.orders.values():
                by_status[order.status] = by_status.get(order.status, 0) + 1
            return {
                "orders": len(self.orders),
                "orders_by_status": by_status,
                "carts": len(self.carts),
                "contract": self.config.contract,
                "captures": self.counters["captures"],
                "gateway_ids_recorded": self.counters["gateway_ids_recorded"],
                "customer_emails": len(self.customer_emails),
                "customer_emails_by_kind": _count_by(self.customer_emails, "kind"),
                "gift_cards": {
                    c.code: {"balance": money(c.balance), "status": self._gift_card_status(c)}
                    for c in self.gift_cards.values()
                },
                "promo_usage": {p.code: p.times_used for p in self.promos.values()},
                "clock_offset_seconds": self.clock_offset.total_seconds(),
            }

    def customer_email_log(self) -> list[dict[str, Any]]:
        """Every customer email Spectra sent, oldest first (documented contract only)."""
        with self.lock:
            return [dict(e) for e in self.customer_emails]


def _count_by(rows: list[dict[str, Any]], name: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row[name])] = counts.get(str(row[name]), 0) + 1
    return counts
