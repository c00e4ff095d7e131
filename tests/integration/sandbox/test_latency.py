"""The sandbox as slow as the real API: ``--latency-ms``, ``--latency-jitter-ms``, their
environment variables and ``POST /_sandbox/latency``, measured over HTTP."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import requests

from checkout.testing.servers import SandboxProcess, start_sandbox

from .helpers import Client

pytestmark = pytest.mark.integration


def _timed(call: object) -> float:
    start = time.perf_counter()
    response = call()  # type: ignore[operator]
    assert response.status_code < 500, response.text
    return (time.perf_counter() - start) * 1000


@pytest.fixture
def slow_sandbox() -> Iterator[SandboxProcess]:
    server = start_sandbox(extra_args=["--latency-ms", "200", "--latency-jitter-ms", "100"])
    try:
        yield server
    finally:
        server.stop()


def test_every_api_route_waits_the_latency_plus_some_jitter(
    slow_sandbox: SandboxProcess,
) -> None:
    client = Client(slow_sandbox, slow_sandbox.test_key)
    cart = client.post("/commerce-api/v1/cart").json()["data"]
    calls = [
        lambda: client.get("/api/v1/categories"),
        lambda: client.get("/api/v1/products"),
        lambda: client.get(f"/commerce-api/v1/cart/{cart['id']}"),
        lambda: client.post("/commerce-api/v1/checkout/calculate-tax", json={}),
        lambda: client.get("/api/v1/orders/999999"),  # a 404 waits too
    ]
    times = [_timed(call) for call in calls for _ in range(3)]
    assert all(200 <= t < 200 + 100 + 150 for t in times), times
    # Jitter: the answers do not all take the same time.
    assert max(times) - min(times) > 5, times


def test_the_control_api_does_not_wait(slow_sandbox: SandboxProcess) -> None:
    assert _timed(lambda: requests.get(f"{slow_sandbox.control_base}/health", timeout=5)) < 150


def test_latency_changes_while_it_runs(slow_sandbox: SandboxProcess) -> None:
    client = Client(slow_sandbox, slow_sandbox.test_key)
    changed = requests.post(
        f"{slow_sandbox.control_base}/latency",
        json={"latency_ms": 0, "latency_jitter_ms": 0},
        timeout=5,
    )
    assert changed.json()["data"] == {"latency_ms": 0.0, "latency_jitter_ms": 0.0}
    assert max(_timed(lambda: client.get("/api/v1/categories")) for _ in range(3)) < 150

    requests.post(f"{slow_sandbox.control_base}/latency", json={"latency_ms": 400}, timeout=5)
    assert _timed(lambda: client.get("/api/v1/categories")) >= 400

    refused = requests.post(
        f"{slow_sandbox.control_base}/latency", json={"latency_ms": -1}, timeout=5
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "validation_error"
    refused = requests.post(
        f"{slow_sandbox.control_base}/latency", json={"latency_ms": "slow"}, timeout=5
    )
    assert refused.status_code == 422


def test_latency_from_the_environment() -> None:
    env = {
        **os.environ,
        "SPECTRA_SANDBOX_LATENCY_MS": "250",
        "SPECTRA_SANDBOX_LATENCY_JITTER_MS": "0",
    }
    server = start_sandbox(env=env)
    try:
        client = Client(server, server.test_key)
        times = [_timed(lambda: client.get("/api/v1/categories")) for _ in range(3)]
        assert all(250 <= t < 250 + 150 for t in times), times
    finally:
        server.stop()


def test_no_latency_by_default(sandbox: SandboxProcess) -> None:
    client = Client(sandbox, sandbox.test_key)
    assert min(_timed(lambda: client.get("/api/v1/categories")) for _ in range(3)) < 100
