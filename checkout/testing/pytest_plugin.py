"""pytest fixtures for the test kit: the sandbox, localstripe, resets, a webhook receiver.

Enable with ``pytest_plugins = ["checkout.testing.pytest_plugin"]``. Servers start once per
session as subprocesses; a server that does not come up fails the test (never skips).

The sandbox has two contracts (``default`` and ``documented``, see ``docs/sandbox.md``).
``--sandbox-contract documented`` (or ``SANDBOX_CONTRACT=documented``) runs a whole session
on one; a test runs on both with
``@pytest.mark.parametrize("sandbox_contract", SANDBOX_CONTRACTS, indirect=True)``.
``checkout_live_settings`` points the app's settings at both (needs pytest-django), and
``spectra_client`` hands a test the app's own configured client.
"""

from __future__ import annotations

import os
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
SANDBOX_CONTRACTS = ("default", "documented")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sandbox-contract",
        choices=SANDBOX_CONTRACTS,
        default=os.environ.get("SANDBOX_CONTRACT") or "default",
        help="the Spectra sandbox's contract for tests that do not choose one "
        "(default: $SANDBOX_CONTRACT or 'default')",
    )


class SandboxPool:
    """Sandboxes started on first use, one per (contract, Stripe behind it), for a session."""

    def __init__(self) -> None:
        self._servers: dict[tuple[str, str], SandboxProcess] = {}

    def get(self, contract: str, localstripe: LocalstripeProcess | None) -> SandboxProcess:
        """The sandbox for ``contract``; verifying payments on ``localstripe`` if given."""
        if contract not in SANDBOX_CONTRACTS:
            raise ValueError(f"unknown sandbox contract {contract!r}")
        slot = (contract, localstripe.api_base if localstripe else "")
        if slot not in self._servers:
            try:
                self._servers[slot] = start_sandbox(
                    stripe_api_base=localstripe.api_base if localstripe else None,
                    stripe_secret_key=localstripe.secret_key if localstripe else None,
                    contract=contract,
                )
            except ServerStartError as exc:
                pytest.fail(f"Spectra sandbox did not start: {exc}", pytrace=False)
        return self._servers[slot]

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()


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
def sandbox_pool() -> Iterator[SandboxPool]:
    """Every sandbox of the session, started on first use and stopped at its end."""
    pool = SandboxPool()
    try:
        yield pool
    finally:
        pool.stop()


@pytest.fixture
def sandbox_contract(request: pytest.FixtureRequest) -> str:
    """The contract of this test's sandbox: the ``indirect`` parameter, else the option."""
    contract = getattr(request, "param", None) or request.config.getoption("sandbox_contract")
    return str(contract)


@pytest.fixture(scope="session")
def spectra_sandbox(
    request: pytest.FixtureRequest, sandbox_pool: SandboxPool, localstripe: LocalstripeProcess
) -> SandboxProcess:
    """The Spectra sandbox (the session's contract), verifying payments on ``localstripe``."""
    return sandbox_pool.get(request.config.getoption("sandbox_contract"), localstripe)


@pytest.fixture
def sandbox_reset(
    sandbox_pool: SandboxPool, sandbox_contract: str, localstripe: LocalstripeProcess
) -> SandboxProcess:
    """Start the test from a fresh sandbox (of ``sandbox_contract``) and an empty
    localstripe; returns the sandbox."""
    sandbox = sandbox_pool.get(sandbox_contract, localstripe)
    sandbox.reset()
    localstripe.reset()
    return sandbox


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
