"""pytest fixtures for the test kit: the sandbox, localstripe, resets, a webhook receiver.

Enable with ``pytest_plugins = ["checkout.testing.pytest_plugin"]``. Servers start once per
session as subprocesses; a server that does not come up fails the test (never skips).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from checkout.testing.receiver import WebhookReceiver
from checkout.testing.servers import (
    LocalstripeProcess,
    SandboxProcess,
    ServerStartError,
    start_localstripe,
    start_sandbox,
)
from checkout.testing.stripe_helpers import localstripe_client


@pytest.fixture(scope="session")
def localstripe() -> Iterator[LocalstripeProcess]:
    """localstripe in a subprocess on a free port (session-scoped)."""
    try:
        server = start_localstripe()
    except ServerStartError as exc:
        pytest.fail(f"localstripe did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def spectra_sandbox(localstripe: LocalstripeProcess) -> Iterator[SandboxProcess]:
    """The Spectra sandbox, verifying payments against the ``localstripe`` fixture."""
    try:
        server = start_sandbox(
            stripe_api_base=localstripe.api_base, stripe_secret_key=localstripe.secret_key
        )
    except ServerStartError as exc:
        pytest.fail(f"Spectra sandbox did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sandbox_reset(
    spectra_sandbox: SandboxProcess, localstripe: LocalstripeProcess
) -> SandboxProcess:
    """Start the test from a fresh sandbox and an empty localstripe; returns the sandbox."""
    spectra_sandbox.reset()
    localstripe.reset()
    return spectra_sandbox


@pytest.fixture(scope="session")
def localstripe_stripe_client(localstripe: LocalstripeProcess) -> stripe.StripeClient:
    """A ``StripeClient`` pointed at the ``localstripe`` fixture."""
    return localstripe_client(localstripe.api_base, localstripe.secret_key)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A running HTTP receiver on a free loopback port recording raw deliveries."""
    receiver = WebhookReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
