"""The rush's stack: the bench stack (``bench.stack.Stack``: its own PostgreSQL database,
two Redis dbs, processes stopped by PID) with the Spectra sandbox at 150 ms and
localstripe in place of the stub, the production gunicorn, a Celery worker and beat,
and both providers' webhooks registered to the site, as in the demo.

``RushStack.ledger`` reads what every side counted at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field

import psycopg
import redis
import requests

from bench.loadtest.report import Ledger
from bench.stack import HOST, Stack, _with_redis_db, free_port
from checkout.testing.servers import (
    LocalstripeProcess,
    SandboxProcess,
    start_localstripe,
    start_sandbox,
)

LATENCY_MS = 150.0
LATENCY_JITTER_MS = 30.0
STOCK = 100_000
# Redis dbs of the rush's own (the bench's 14 and 15 may be in use by a bench run).
BROKER_DB = int(os.environ.get("LOADTEST_REDIS_BROKER_DB", "10"))
CACHE_DB = int(os.environ.get("LOADTEST_REDIS_CACHE_DB", "11"))
CONFIRMATION_WORD = "confirmed"  # "Order <number> confirmed" (confirmation_subject.txt)


@dataclass
class RushStack:
    database_url: str
    redis_url: str
    latency_ms: float = LATENCY_MS
    stack: Stack = field(init=False)
    sandbox: SandboxProcess | None = None
    localstripe: LocalstripeProcess | None = None
    web_port: int = 0

    @property
    def site_url(self) -> str:
        return f"http://{HOST}:{self.web_port}"

    def start(self) -> None:
        """Start everything; on failure, stop what started."""
        self.stack = Stack(
            self.database_url, self.redis_url, broker_db=BROKER_DB, cache_db=CACHE_DB
        )
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        self.localstripe = start_localstripe(HOST)
        self.sandbox = start_sandbox(
            HOST,
            stripe_api_base=self.localstripe.api_base,
            stripe_secret_key=self.localstripe.secret_key,
            extra_args=[
                "--latency-ms",
                str(self.latency_ms),
                "--latency-jitter-ms",
                str(LATENCY_JITTER_MS if self.latency_ms else 0),
                "--log-level",
                "WARNING",
            ],
        )
        # The seeded catalog holds a few dozen of most variants: a rush would sell it out
        # and measure sold-out answers instead of the checkout.
        requests.post(
            f"{self.sandbox.control_base}/stock", json={"quantity_available": STOCK}, timeout=10
        ).raise_for_status()
        self.stack.prepare()
        self.web_port = free_port()
        env = self.stack.env
        env.update(
            {
                "CHECKOUT_SPECTRA_API_BASE": self.sandbox.api_base,
                "CHECKOUT_SPECTRA_COMMERCE_BASE": self.sandbox.commerce_base,
                "CHECKOUT_SPECTRA_API_KEY": self.sandbox.test_key,
                "CHECKOUT_STRIPE_API_BASE": self.localstripe.api_base,
                "CHECKOUT_STRIPE_JS_URL": self.localstripe.js_url,
                "CHECKOUT_STRIPE_SECRET_KEY": self.localstripe.secret_key,
                "CHECKOUT_STRIPE_PUBLISHABLE_KEY": self.localstripe.publishable_key,
                "BENCH_EMAIL_LOG_KEY": "loadtest:emails",
            }
        )
        self._register_webhooks()
        self.stack.start_worker()
        self.stack.start_beat()
        self.stack.start_production_web(self.web_port)

    def _register_webhooks(self) -> None:
        """Subscribe the site to Spectra's and Stripe's webhooks (secrets into the env)."""
        assert self.sandbox
        assert self.localstripe
        answer = requests.post(
            f"{self.sandbox.api_base}/webhooks",
            json={"url": f"{self.site_url}/webhooks/spectra/", "events": ["*"]},
            headers={"Authorization": f"Bearer {self.sandbox.test_key}"},
            timeout=10,
        )
        answer.raise_for_status()
        self.stack.env["CHECKOUT_WEBHOOK_SECRET"] = str(answer.json()["data"]["secret"])
        stripe_secret = "whsec_" + secrets.token_hex(24)
        requests.post(
            f"{self.localstripe.base_url}/_config/webhooks/loadtest",
            json={
                "url": f"{self.site_url}/webhooks/stripe/",
                "secret": stripe_secret,
                "events": ["payment_intent.succeeded", "payment_intent.payment_failed"],
            },
            timeout=10,
        ).raise_for_status()
        self.stack.env["CHECKOUT_STRIPE_WEBHOOK_SECRET"] = stripe_secret

    # --- the ledger -------------------------------------------------------------------
    def emails(self) -> list[dict[str, object]]:
        client = redis.Redis.from_url(_with_redis_db(self.redis_url, BROKER_DB))
        return [json.loads(raw) for raw in client.lrange("loadtest:emails", 0, -1)]

    def orders(self) -> tuple[int, int]:
        """Our orders and the distinct PaymentIntents they were paid with."""
        with psycopg.connect(self.stack.env["DATABASE_URL"]) as conn:
            row = conn.execute(
                "SELECT count(*), count(DISTINCT payment_intent_id) FROM checkout_order"
            ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def ledger(self, *, placed_by_shoppers: int, settle_s: float = 30.0) -> Ledger:
        """Count every side once the worker has sent what it owes (at most ``settle_s``)."""
        assert self.sandbox
        assert self.localstripe
        deadline = time.monotonic() + settle_s
        while True:
            orders, paid_by = self.orders()
            emails = self.emails()
            confirmations = sum(1 for e in emails if CONFIRMATION_WORD in str(e.get("subject", "")))
            if confirmations >= orders or time.monotonic() > deadline:
                break
            time.sleep(1)
        state = self.sandbox.state()
        intents = requests.get(
            f"{self.localstripe.api_base}/v1/payment_intents",
            params={"limit": 1_000_000},
            headers={"Authorization": f"Bearer {self.localstripe.secret_key}"},
            timeout=60,
        )
        intents.raise_for_status()
        captured = sum(1 for i in intents.json()["data"] if i.get("status") == "succeeded")
        return Ledger(
            placed_by_shoppers=placed_by_shoppers,
            orders=orders,
            orders_paid_by=paid_by,
            sandbox_orders=int(str(state["orders"])),
            sandbox_captures=int(str(state["captures"])),
            stripe_captured=captured,
            confirmation_emails=confirmations,
            emails=len(emails),
        )

    def close(self) -> None:
        if hasattr(self, "stack"):
            self.stack.close()
        for server in (self.sandbox, self.localstripe):
            if server is not None:
                server.stop()
