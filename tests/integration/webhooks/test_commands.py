"""The operator commands: register a webhook, reconcile now, replay events."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from django.core.management import call_command

from checkout.models import WebhookEvent
from checkout.services.spectra import clear_spectra_clients
from checkout.testing.servers import SandboxProcess
from tests.integration.webhooks.conftest import LIVE_KEY

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def sandbox_settings(settings: Any, plain_sandbox: SandboxProcess) -> SandboxProcess:
    plain_sandbox.reset()
    settings.CHECKOUT_SPECTRA_API_BASE = plain_sandbox.api_base
    settings.CHECKOUT_SPECTRA_COMMERCE_BASE = plain_sandbox.commerce_base
    settings.CHECKOUT_SPECTRA_API_KEY = LIVE_KEY
    clear_spectra_clients()
    return plain_sandbox


def test_register_webhook_prints_the_secret_once_and_never_logs_it(
    sandbox_settings: SandboxProcess, caplog: pytest.LogCaptureFixture
) -> None:
    out = io.StringIO()
    with caplog.at_level(logging.DEBUG):
        call_command(
            "checkout_register_webhook",
            url="https://shop.example.com/webhooks/spectra/",
            stdout=out,
        )
    text = out.getvalue()
    assert "CHECKOUT_WEBHOOK_SECRET" in text
    secret = next(line.strip() for line in text.splitlines() if line.strip().startswith("whsec"))
    assert secret not in caplog.text


def test_reconcile_command_reports_a_summary(sandbox_settings: SandboxProcess) -> None:
    out = io.StringIO()
    call_command("checkout_reconcile", stdout=out)
    assert "Checked 0, changed 0" in out.getvalue()


def test_replay_failed_events_now(sandbox_settings: SandboxProcess) -> None:
    event = WebhookEvent.objects.create(
        source="spectra",
        event_type="inventory.updated",
        dedup_key="spectra:x",
        raw_body='{"event": "inventory.updated", "data": {}}',
        signature_valid=True,
        outcome="failed",
    )
    out = io.StringIO()
    call_command("checkout_replay_events", "--failed", "--now", stdout=out)
    event.refresh_from_db()
    assert event.outcome == "ignored"
    assert "Replayed: 1 ignored." in out.getvalue()
