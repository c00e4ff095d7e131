"""pytest fixtures for the test kit: the sandbox, localstripe, resets, a webhook receiver.

Enable with ``pytest_plugins = ["checkout.testing.pytest_plugin"]``. Servers start once per
session as subprocesses; a server that does not come up fails the test (never skips).
``checkout_live_settings`` points the app's settings at both (needs pytest-django), and
``spectra_client`` hands a test the app's own configured client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from checkout.services.spectra import SpectraClient


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
    return report


def node_failed(request: pytest.FixtureRequest) -> bool:
    """In a fixture's teardown: did the test (or its set-up) fail? For printing what a
    failure needs to be understood (logs, rows) only when there is one."""
    return request.node.stash.get(_FAILED, False)


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


@pytest.fixture
def checkout_live_settings(
    settings: Any, sandbox_reset: SandboxProcess, localstripe: LocalstripeProcess
) -> SandboxProcess:
    """Point the app's ``CHECKOUT_*`` settings at the freshly reset sandbox and localstripe.

    Uses pytest-django's ``settings`` fixture, so everything is restored after the test.
    Catalog caching is off, so each test sees the sandbox's current state.
    """
    settings.CHECKOUT_SPECTRA_API_BASE = sandbox_reset.api_base
    settings.CHECKOUT_SPECTRA_COMMERCE_BASE = sandbox_reset.commerce_base
    settings.CHECKOUT_SPECTRA_API_KEY = sandbox_reset.test_key
    settings.CHECKOUT_STRIPE_API_BASE = localstripe.api_base
    settings.CHECKOUT_STRIPE_SECRET_KEY = localstripe.secret_key
    settings.CHECKOUT_STRIPE_PUBLISHABLE_KEY = localstripe.publishable_key
    settings.CHECKOUT_STRIPE_JS_URL = localstripe.js_url
    settings.CHECKOUT_CATALOG_CACHE_TTL = 0
    return sandbox_reset


@pytest.fixture
def spectra_client(checkout_live_settings: SandboxProcess) -> SpectraClient:
    """The app's own Spectra client, configured for the live sandbox."""
    from checkout.services.spectra import get_spectra_client

    return get_spectra_client()
