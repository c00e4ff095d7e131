"""Rate limits per key and the sandbox's start-up time and banner."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from checkout.testing.servers import SandboxProcess, free_port, start_sandbox

from .helpers import Client

pytestmark = [
    pytest.mark.integration,
    pytest.mark.default_contract(
        "the sandbox's own tests of its default profile (test_contracts.py runs both)"
    ),
]


def test_rate_limit_429_with_headers(sandbox: SandboxProcess) -> None:
    added = requests.post(
        f"{sandbox.control_base}/keys",
        json={"key": "spk_test_tiny", "scopes": "*", "tier": "free", "limits": [[3, 60]]},
        timeout=5,
    )
    assert added.status_code == 201
    client = Client(sandbox, "spk_test_tiny")
    answers = [client.get("/api/v1/categories") for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    assert answers[0].headers["X-RateLimit-Remaining"] == "2"
    limited = answers[3]
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["X-RateLimit-Reset"]) > time.time()
    # Default keys are unlimited and carry no rate headers.
    unlimited = Client(sandbox, sandbox.test_key).get("/api/v1/categories")
    assert "X-RateLimit-Limit" not in unlimited.headers


def test_free_tier_from_the_command_line() -> None:
    server = start_sandbox(extra_args=["--key", "spk_test_ro:catalog:read,orders:read:free"])
    try:
        client = Client(server, "spk_test_ro")
        response = client.get("/api/v1/products")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "100"
        assert client.post("/api/v1/orders", json={}).status_code == 403
    finally:
        server.stop()


def test_starts_in_under_two_seconds_and_prints_keys_and_urls() -> None:
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "checkout.testing.sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        ready = False
        while time.monotonic() - started < 5:
            try:
                ready = requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=0.2).ok
            except requests.RequestException:
                time.sleep(0.02)
            if ready:
                break
        elapsed = time.monotonic() - started
        assert ready
        assert elapsed < 2.0, elapsed
    finally:
        process.terminate()
        output = process.communicate(timeout=5)[0].decode()
    assert "spk_test_sandbox" in output
    assert "spk_live_sandbox" in output
    assert f"http://127.0.0.1:{port}/api/v1" in output
    assert f"http://127.0.0.1:{port}/commerce-api/v1" in output


def test_the_control_root_lists_the_control_calls(sandbox: SandboxProcess) -> None:
    # The demo's banner points people at it: it answers, with slash and without.
    for url in (f"{sandbox.control_base}/", sandbox.control_base):
        answer = requests.get(url, timeout=5)
        assert answer.status_code == 200, url
        calls = answer.json()["data"]["calls"]
        assert "GET /_sandbox/state" in calls
        assert "POST /_sandbox/orders/{order_id}/advance" in calls
        assert not [c for c in calls if "/api/" in c]  # control calls only
