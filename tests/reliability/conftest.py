"""Fixtures of the reliability suite: live servers, a log scanner for secrets, figures.

Every log record emitted while this suite runs (and every worker log file a test hands
to ``log_recorder.add_file``) is kept; ``test_zz_secrets`` fails if any configured secret
(Django's SECRET_KEY, the Spectra key, the Stripe secret key, the webhook secrets) appears
in one. Secrets are read from the settings in force when each record is emitted, so the
per-test overrides (sandbox keys, webhook secrets) are covered too.

Each scenario records its figures with ``figures.record(...)``; at the end of the session
they are merged into ``var/reliability/figures.json``, from which
``python -m tests.reliability.render`` writes the table in ``docs/reliability.md``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe
from django.core.cache import cache

from checkout.services.payments import clear_stripe_clients
from checkout.services.spectra import clear_spectra_clients
from checkout.testing.servers import LocalstripeProcess, SandboxProcess
from tests.integration.checkout.support import Live

ROOT = Path(__file__).resolve().parents[2]
FIGURES_PATH = ROOT / "var" / "reliability" / "figures.json"
SECRET_SETTINGS = (
    "SECRET_KEY",
    "CHECKOUT_SPECTRA_API_KEY",
    "CHECKOUT_STRIPE_SECRET_KEY",
    "CHECKOUT_WEBHOOK_SECRET",
    "CHECKOUT_STRIPE_WEBHOOK_SECRET",
)


class LogRecorder(logging.Handler):
    """Keep every formatted record and every secret configured when it was emitted."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []
        self.secrets: set[str] = set()
        self.files: list[Path] = []

    def note_secrets(self) -> None:
        from django.conf import settings

        for name in SECRET_SETTINGS:
            value = str(getattr(settings, name, "") or "")
            if len(value) >= 8:
                self.secrets.add(value)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.note_secrets()
            self.lines.append(self.format(record))
        except Exception:  # a recorder must never break the code under test
            self.handleError(record)

    def add_file(self, path: Path) -> None:
        """Scan a subprocess's log file (a Celery worker's) too."""
        self.files.append(Path(path))

    def leaks(self) -> list[tuple[str, str]]:
        """Return (where, secret prefix) for every secret found in a log line."""
        self.note_secrets()
        found = []
        texts = [("log", line) for line in self.lines]
        for path in self.files:
            try:
                texts.append((str(path), path.read_text(errors="replace")))
            except OSError:
                continue
        for where, text in texts:
            for secret in self.secrets:
                if secret in text:
                    found.append((where if where != "log" else text[:120], secret[:6] + "…"))
        return found


RECORDER = LogRecorder()


@pytest.fixture(scope="session", autouse=True)
def log_recorder() -> Iterator[LogRecorder]:
    """Record every log record of the reliability tests (session-wide, autouse)."""
    root = logging.getLogger()
    root.addHandler(RECORDER)
    try:
        yield RECORDER
    finally:
        root.removeHandler(RECORDER)


class Figures:
    """Scenario figures, written to ``var/reliability/figures.json`` at session end."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.contract = "default"  # the session's sandbox contract (set by the fixture)

    def record(
        self,
        key: str,
        *,
        scenario: str,
        done: str,
        expected: str,
        observed: str,
        seconds: float,
        **numbers: Any,
    ) -> None:
        # One row per scenario and contract: the default contract's under the bare key
        # (as before there were two), the documented one's under ``key@documented``.
        if self.contract != "default":
            key = f"{key}@{self.contract}"
        self.rows[key] = {
            "contract": self.contract,
            "scenario": scenario,
            "done": done,
            "expected": expected,
            "observed": observed,
            "seconds": round(seconds, 1),
            "numbers": numbers,
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    def write(self) -> None:
        if not self.rows:
            return
        FIGURES_PATH.parent.mkdir(parents=True, exist_ok=True)
        try:
            existing = json.loads(FIGURES_PATH.read_text())
        except (OSError, ValueError):
            existing = {}
        existing.update(self.rows)
        FIGURES_PATH.write_text(json.dumps(existing, indent=2, sort_keys=True, default=str))


FIGURES = Figures()


@pytest.fixture(scope="session")
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    FIGURES.contract = str(request.config.getoption("sandbox_contract"))
    try:
        yield FIGURES
    finally:
        FIGURES.write()


# On the documented contract the sandbox's default keys carry the Standard tier's limits
# (1,000 calls an hour). The scenarios here measure faults, concurrency and crashes, and
# build hundreds of orders; they use a key of their own without a limit, and count the
# background calls against the budget instead (the tiers themselves are tested in
# tests/integration/checkout/test_reconcile_budget.py and test_ratelimit.py).
UNLIMITED_TEST_KEY = "spk_test_reliability"


def unlimited_test_key(sandbox: SandboxProcess) -> str:
    """The sandbox's test key, or on the documented contract an unlimited one of ours."""
    if not sandbox.documented:
        return sandbox.test_key
    requests.post(
        f"{sandbox.control_base}/keys",
        json={"key": UNLIMITED_TEST_KEY, "scopes": "*", "tier": "unlimited"},
        timeout=5,
    ).raise_for_status()
    return UNLIMITED_TEST_KEY


def storm_key(sandbox: SandboxProcess) -> tuple[str, dict[str, Any]]:
    """The key and worker settings of the storm and crash scenarios.

    Live orders on the default contract (their emails are the app's). On the documented
    one Spectra itself emails a live order's customer, so the scenarios place test orders
    (Spectra emails none, [doc]) and let the app mail them: the app's email machinery
    goes through the same storm, and nobody is mailed twice.
    """
    if not sandbox.documented:
        return LIVE_KEY, {}
    return unlimited_test_key(sandbox), {"CHECKOUT_SEND_TEST_ORDER_EMAILS": True}


@pytest.fixture
def live(
    settings: Any,
    sandbox_reset: SandboxProcess,
    localstripe: LocalstripeProcess,
    localstripe_stripe_client: stripe.StripeClient,
) -> Iterator[Live]:
    """The app pointed at a freshly reset sandbox (verifying payments on localstripe)."""
    settings.CHECKOUT_SPECTRA_API_BASE = sandbox_reset.api_base
    settings.CHECKOUT_SPECTRA_COMMERCE_BASE = sandbox_reset.commerce_base
    settings.CHECKOUT_SPECTRA_API_KEY = unlimited_test_key(sandbox_reset)
    settings.CHECKOUT_STRIPE_API_BASE = localstripe.api_base
    settings.CHECKOUT_STRIPE_SECRET_KEY = localstripe.secret_key
    settings.CHECKOUT_STRIPE_PUBLISHABLE_KEY = localstripe.publishable_key
    settings.CHECKOUT_STRIPE_JS_URL = localstripe.js_url
    settings.CHECKOUT_CATALOG_CACHE_TTL = 0
    cache.clear()
    clear_spectra_clients()
    clear_stripe_clients()
    yield Live(sandbox_reset, localstripe, localstripe_stripe_client)
    clear_spectra_clients()
    clear_stripe_clients()


# --- Webhooks, workers, Redis -------------------------------------------------------------


@pytest.fixture
def limits(settings: Any, live: Live) -> Live:
    """Low rate limits, so the abuse tests reach them in a few requests."""
    settings.CHECKOUT_RATE_LIMITS = {
        "promo": ("4/10m session", "6/10m ip"),
        "gift_card": ("4/10m session", "6/10m ip"),
        "pay": ("3/10m session", "5/h ip"),
        "place": ("5/10m session", "8/10m ip"),
    }
    cache.clear()
    return live


from tests.integration.webhooks.conftest import (  # noqa: E402
    LIVE_KEY,
    SHARED_REDIS,
    OwnRedis,
    WebhookEnv,
    _webhook_env,
    plain_sandbox,  # noqa: F401  (a fixture: the Stripe-less sandbox)
)


@pytest.fixture
def storm_env(
    request: pytest.FixtureRequest,
    live_server: Any,
    settings: Any,
    plain_sandbox: SandboxProcess,  # noqa: F811
    tmp_path: Path,
) -> Iterator[WebhookEnv]:
    """Sandbox + live server + registered webhook + publisher on the shared Redis."""
    key, overrides = storm_key(plain_sandbox)
    yield from _webhook_env(
        request,
        live_server,
        settings,
        plain_sandbox,
        tmp_path,
        SHARED_REDIS,
        api_key=key,
        worker_settings=overrides,
    )


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    """A redis-server of this test's own, on a free port (never the machine's 6379)."""
    redis = OwnRedis()
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def crash_env(
    request: pytest.FixtureRequest,
    live_server: Any,
    settings: Any,
    plain_sandbox: SandboxProcess,  # noqa: F811
    tmp_path: Path,
    own_redis: OwnRedis,
) -> Iterator[tuple[WebhookEnv, OwnRedis]]:
    """Like ``storm_env`` but on a redis-server the test may stop and start."""
    key, overrides = storm_key(plain_sandbox)
    for env in _webhook_env(
        request,
        live_server,
        settings,
        plain_sandbox,
        tmp_path,
        own_redis.url,
        api_key=key,
        worker_settings=overrides,
    ):
        yield env, own_redis
