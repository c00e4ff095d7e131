"""Fixtures for the webhook tests: a Stripe-less sandbox, a real worker, orders to advance.

Orders are placed in the sandbox through the real client (cart, shipping rate, POST
/orders with a ``pi_`` gateway id, which a sandbox started without Stripe accepts) and
recorded locally with ``orders.order_record``, exactly as a checkout would.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import requests
from django.urls import reverse

from checkout.models import EmailNotification, Order, OutboxMessage, WebhookEvent
from checkout.services import spectra
from checkout.services.orders import order_record
from checkout.services.spectra import clear_spectra_clients, get_spectra_client
from checkout.testing.celery_worker import (
    CeleryWorker,
    database_url_from_settings,
    read_sent_emails,
    restore_broker,
    start_celery_worker,
    use_broker,
)
from checkout.testing.pytest_plugin import SandboxPool, node_failed
from checkout.testing.servers import SandboxProcess

LIVE_KEY = "spk_live_sandbox"
TEST_KEY = "spk_test_sandbox"
SHARED_REDIS = os.environ.get("CHECKOUT_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
ADDRESS = {
    "name": "Ada Lovelace",
    "address1": "1 Analytical Way",
    "city": "Austin",
    "state": "TX",
    "zip": "78701",
    "country": "US",
}


@pytest.fixture(scope="session")
def plain_sandbox(request: pytest.FixtureRequest, sandbox_pool: SandboxPool) -> SandboxProcess:
    """A sandbox of the session's contract that accepts any ``pi_`` gateway id (no Stripe
    behind it; the documented contract only records it anyway)."""
    return sandbox_pool.get(request.config.getoption("sandbox_contract"), None)


@pytest.fixture
def contract_sandbox(sandbox_pool: SandboxPool, sandbox_contract: str) -> SandboxProcess:
    """Like ``plain_sandbox``, on this test's ``sandbox_contract``."""
    return sandbox_pool.get(sandbox_contract, None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnRedis:
    """A redis-server of our own on a free port, to stop and start at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed", pytrace=False)
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        pytest.fail("own redis-server did not start", pytrace=False)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None


@dataclass
class WebhookEnv:
    sandbox: SandboxProcess
    webhook_url: str
    email_dir: Path
    broker_url: str
    queue: str
    worker_settings: dict[str, Any]
    workers: list[CeleryWorker] = field(default_factory=list)

    @property
    def worker(self) -> CeleryWorker:
        return self.workers[-1]

    def start_worker(self, **overrides: Any) -> CeleryWorker:
        worker = start_celery_worker(
            broker_url=self.broker_url,
            database_url=database_url_from_settings(),
            settings_overrides={**self.worker_settings, **overrides},
            queue=self.queue,
            beat=True,
        )
        self.workers.append(worker)
        return worker

    def client(self, key: str = LIVE_KEY) -> spectra.SpectraClient:
        return spectra.SpectraClient(
            api_base=self.sandbox.api_base, commerce_base=self.sandbox.commerce_base, api_key=key
        )

    def place_order(self, *, key: str = LIVE_KEY, email: str = "ada@example.com") -> Order:
        """Place an order in the sandbox and record it locally (confirmation queued)."""
        client = self.client(key)
        product = next(
            p
            for p in client.list_products().items
            if any(v.quantity_available > 0 for v in p.variants)
        )
        variant = next(v for v in product.variants if v.quantity_available > 0)
        cart = client.create_cart()
        client.add_cart_item(cart.id, variant_id=variant.id, quantity=2)
        rate = client.get_shipping_rates(cart.id, address=ADDRESS)[0]
        remote = client.create_order(
            {
                "cart_id": cart.id,
                "billing": {**ADDRESS, "email": email, "phone": "+15125550100"},
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
            remote = dataclasses.replace(remote, email=email)
        order, _created = order_record(remote=remote, attempt=None)
        return order

    def advance(self, order: Order, to: str, **extra: Any) -> dict[str, Any]:
        response = requests.post(
            f"{self.sandbox.control_base}/orders/{order.spectra_id}/advance",
            json={"to": to, **extra},
            timeout=10,
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body.get("data", body)

    def webhook_faults(self, spec: dict[str, Any]) -> None:
        requests.post(
            f"{self.sandbox.control_base}/faults/webhooks", json=spec, timeout=5
        ).raise_for_status()

    def emails(self) -> list[Message]:
        return read_sent_emails(self.email_dir)

    def report(self) -> str:
        """What a failed test needs to see: the rows in flight and each worker's log."""
        lines = ["== outbox"]
        lines += [
            f"{m.pk} {m.task_name}({m.kwargs}) published={m.published_at} "
            f"available={m.available_at} attempts={m.publish_attempts} {m.last_error}"
            for m in OutboxMessage.objects.order_by("pk")
        ]
        lines.append("== webhook events")
        lines += [
            f"{e.pk} {e.event_type} outcome={e.outcome} deliveries={e.deliveries} "
            f"tries={e.processing_attempts} processed={e.processed_at} {e.error}"
            for e in WebhookEvent.objects.order_by("pk")
        ]
        lines.append("== email ledger")
        lines += [
            f"{n.pk} {n.kind} order={n.order_id} status={n.status} attempts={n.attempts} "
            f"claimed={n.claimed_at} sent={n.sent_at} {n.error}"
            for n in EmailNotification.objects.order_by("pk")
        ]
        lines.append(f"== emails written: {[str(m['Subject']) for m in self.emails()]}")
        for worker in self.workers:
            lines.append(f"== worker {worker.pid} log (tail)")
            lines.append(worker.log()[-6000:])
        return "\n".join(lines)


def wait_for(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _webhook_env(
    request: pytest.FixtureRequest,
    live_server: Any,
    settings: Any,
    plain_sandbox: SandboxProcess,
    tmp_path: Path,
    broker: str,
) -> Iterator[WebhookEnv]:
    plain_sandbox.reset()
    settings.CHECKOUT_SPECTRA_API_BASE = plain_sandbox.api_base
    settings.CHECKOUT_SPECTRA_COMMERCE_BASE = plain_sandbox.commerce_base
    settings.CHECKOUT_SPECTRA_API_KEY = LIVE_KEY
    settings.CHECKOUT_SITE_URL = live_server.url
    clear_spectra_clients()
    webhook_url = live_server.url + reverse("checkout:webhook-spectra")
    subscription = get_spectra_client().register_webhook(url=webhook_url)
    assert subscription.secret
    settings.CHECKOUT_WEBHOOK_SECRET = subscription.secret
    email_dir = tmp_path / "emails"
    queue = f"checkout-test-{uuid.uuid4().hex[:10]}"
    env = WebhookEnv(
        sandbox=plain_sandbox,
        webhook_url=webhook_url,
        email_dir=email_dir,
        broker_url=broker,
        queue=queue,
        worker_settings={
            "CHECKOUT_SPECTRA_API_BASE": plain_sandbox.api_base,
            "CHECKOUT_SPECTRA_COMMERCE_BASE": plain_sandbox.commerce_base,
            "CHECKOUT_SPECTRA_API_KEY": LIVE_KEY,
            "CHECKOUT_SITE_URL": live_server.url,
            "EMAIL_BACKEND": "checkout.testing.celery_worker.RecordingEmailBackend",
            "CHECKOUT_TEST_EMAIL_DIR": str(email_dir),
        },
    )
    old = use_broker(broker_url=broker, queue=queue)
    try:
        yield env
    finally:
        if node_failed(request):
            print(env.report())  # shown under "Captured stdout teardown"
        for worker in env.workers:
            worker.kill()
        restore_broker(old)
        clear_spectra_clients()


@pytest.fixture
def webhook_env(
    request: pytest.FixtureRequest,
    live_server: Any,
    settings: Any,
    contract_sandbox: SandboxProcess,
    tmp_path: Path,
) -> Iterator[WebhookEnv]:
    """Sandbox (of ``sandbox_contract``) + live server + webhook registered + publisher on
    the shared Redis."""
    yield from _webhook_env(
        request, live_server, settings, contract_sandbox, tmp_path, SHARED_REDIS
    )


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    redis = OwnRedis()
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def webhook_env_own_redis(
    request: pytest.FixtureRequest,
    live_server: Any,
    settings: Any,
    contract_sandbox: SandboxProcess,
    tmp_path: Path,
    own_redis: OwnRedis,
) -> Iterator[tuple[WebhookEnv, OwnRedis]]:
    """Like ``webhook_env`` but on a redis-server this test owns (and may stop)."""
    for env in _webhook_env(
        request, live_server, settings, contract_sandbox, tmp_path, own_redis.url
    ):
        yield env, own_redis
