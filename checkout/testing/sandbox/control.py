"""The sandbox's control API (``/_sandbox``): state, reset, faults, keys, clock, stock.

Not part of Spectra's API: tests, the demo and the load test drive the sandbox with it.
``ControlRoutes`` is mixed into ``http.SandboxApp``, which registers the routes and holds
the store, the fault tables, the webhook hub and the payment gateway these handlers use.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from checkout.testing.sandbox.config import ConfigError, make_key
from checkout.testing.sandbox.faults import FaultSpecError
from checkout.testing.sandbox.records import ApiError
from checkout.testing.sandbox.request import API, Request, Result, body_str, path_int

logger = logging.getLogger("checkout.testing.sandbox.http")  # the sandbox's one log


class ControlRoutes:
    """Handlers of the control API (see ``SandboxApp._register`` for their paths)."""

    # Provided by SandboxApp.
    store: Any
    config: Any
    routes: Any
    route_faults: Any
    webhook_faults: Any
    hub: Any
    gateway: Any
    limiter: Any
    requests_served: int
    _counter_lock: Any

    def control_index(self, req: Request) -> Result:
        """List the control calls: where the demo's banner points a person."""
        calls = [f"{r.method} {r.path}" for r in self.routes if r.scope == "control"]
        return 200, {"calls": calls, "docs": "docs/sandbox.md, Control API"}, None

    def health(self, req: Request) -> Result:
        return 200, {"status": "ok"}, None

    def state(self, req: Request) -> Result:
        with self._counter_lock:
            served = self.requests_served
        data = self.store.state()
        data.update(
            webhooks={
                "subscriptions": len(self.hub.subscriptions()),
                "pending": self.hub.pending(),
                **self.hub.counters,
            },
            payments=dict(self.gateway.counters),
            route_faults={"pending": self.route_faults.list(), "fired": self.route_faults.fired},
            webhook_faults=self.webhook_faults.describe(),
            requests_served=served,
            stripe_enabled=self.config.stripe_enabled,
        )
        return 200, data, None

    def customer_emails(self, req: Request) -> Result:
        return 200, self.store.customer_email_log(), None

    def reset(self, req: Request) -> Result:
        self.hub.reset()
        self.store.reset()
        self.store.clock_offset = self.store.clock_offset * 0
        self.route_faults.clear()
        self.webhook_faults.clear()
        self.limiter.clear()
        self.gateway.reset_counters()
        logger.info("sandbox state reset")
        return 200, {"reset": True}, None

    def faults_list(self, req: Request) -> Result:
        return (
            200,
            {
                "routes": self.route_faults.list(),
                "webhooks": self.webhook_faults.describe(),
            },
            None,
        )

    def fault_add(self, req: Request) -> Result:
        try:
            fault = self.route_faults.add(req.json())
        except (FaultSpecError, ValueError, TypeError) as exc:
            raise ApiError(422, "invalid_fault", str(exc)) from exc
        return 201, fault.as_dict(), None

    def faults_clear(self, req: Request) -> Result:
        self.route_faults.clear()
        self.webhook_faults.clear()
        return 200, {"cleared": True}, None

    def fault_drop_orders(self, req: Request) -> Result:
        count = int(req.json().get("count", 1)) if req.body.strip() else 1
        fault = self.route_faults.add(
            {"route": f"POST {API}/orders", "action": "drop_after_process", "count": count}
        )
        return 201, fault.as_dict(), None

    def webhook_faults_set(self, req: Request) -> Result:
        try:
            return 200, self.webhook_faults.configure(req.json()), None
        except (FaultSpecError, ValueError, TypeError) as exc:
            raise ApiError(422, "invalid_fault", str(exc)) from exc

    def order_advance(self, req: Request) -> Result:
        body = req.json()
        target = body_str(body, "to")
        data = self.store.advance(
            path_int(req, "order_id"),
            target,
            body.get("tracking_number"),
            body.get("carrier"),
            self.gateway.refund,
        )
        return 200, data, None

    def key_add(self, req: Request) -> Result:
        body = req.json()
        try:
            spec = make_key(
                body_str(body, "key"),
                body.get("scopes", "*"),
                str(body.get("tier", "unlimited")),
                tiers=self.config.tiers,
                limits=body.get("limits"),
            )
        except (ConfigError, ValueError, TypeError) as exc:
            raise ApiError(422, "invalid_key", str(exc)) from exc
        self.store.add_key(spec)
        self.limiter.forget(spec.key)
        return (
            201,
            {
                "key": spec.key,
                "scopes": sorted(spec.scopes),
                "tier": spec.tier,
                "limits": [list(w) for w in spec.limits],
            },
            None,
        )

    def key_revoke(self, req: Request) -> Result:
        if not self.store.revoke_key(req.params["key"]):
            raise ApiError(404, "key_not_found", "No such key.")
        return 200, {"revoked": True}, None

    def gift_card_add(self, req: Request) -> Result:
        body = req.json()
        try:
            balance = Decimal(str(body.get("balance", "25.00")))
        except InvalidOperation as exc:
            raise ApiError(422, "validation_error", "balance must be a number.") from exc
        status = str(body.get("status", "active"))
        if status not in {"active", "redeemed", "expired", "disabled"}:
            raise ApiError(422, "validation_error", "Unknown gift card status.")
        card = self.store.add_gift_card(body.get("code"), balance, status)
        return 201, {"code": card.code, "balance": float(card.balance), "status": card.status}, None

    def clock_set(self, req: Request) -> Result:
        from datetime import timedelta

        seconds = float(req.json().get("offset_seconds", 0))
        with self.store.lock:
            self.store.clock_offset = timedelta(seconds=seconds)
        return 200, {"offset_seconds": seconds, "now": self.store.now().isoformat()}, None

    def latency_set(self, req: Request) -> Result:
        body = req.json()
        try:
            latency = float(body.get("latency_ms", self.config.latency_ms))
            jitter = float(body.get("latency_jitter_ms", self.config.latency_jitter_ms))
        except (TypeError, ValueError) as exc:
            raise ApiError(422, "validation_error", "Latencies are milliseconds.") from exc
        if not (0 <= latency <= 60_000 and 0 <= jitter <= 60_000):
            raise ApiError(422, "validation_error", "Latencies must be within 0-60000 ms.")
        self.config.latency_ms, self.config.latency_jitter_ms = latency, jitter
        return 200, {"latency_ms": latency, "latency_jitter_ms": jitter}, None

    def stock_set(self, req: Request) -> Result:
        """Give every variant in stock ``quantity_available`` units; sold-out ones stay so.

        A load test's shoppers buy far more than the seeded stock of a few dozen.
        """
        try:
            quantity = int(req.json().get("quantity_available", 0))
        except (TypeError, ValueError) as exc:
            raise ApiError(422, "validation_error", "quantity_available is a number.") from exc
        if not 1 <= quantity <= 1_000_000:
            raise ApiError(422, "validation_error", "quantity_available must be 1-1000000.")
        with self.store.lock:
            restocked = [v for v in self.store.variants.values() if v.quantity_available > 0]
            for variant in restocked:
                variant.quantity_available = quantity
        return 200, {"variants": len(restocked), "quantity_available": quantity}, None
