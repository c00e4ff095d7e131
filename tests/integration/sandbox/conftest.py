"""Fixtures for the sandbox's own integration tests (no Django needed)."""

from __future__ import annotations

import pytest
import stripe

from checkout.testing.servers import SandboxProcess

from .helpers import Client


@pytest.fixture
def sandbox(sandbox_reset: SandboxProcess) -> SandboxProcess:
    return sandbox_reset


@pytest.fixture
def api(sandbox: SandboxProcess) -> Client:
    """A raw HTTP client with the default test key."""
    return Client(sandbox, sandbox.test_key)


@pytest.fixture
def live_api(sandbox: SandboxProcess) -> Client:
    return Client(sandbox, sandbox.live_key)


@pytest.fixture
def stripe_client(localstripe_stripe_client: stripe.StripeClient) -> stripe.StripeClient:
    return localstripe_stripe_client
