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


@pytest.mark.default_contract("lists and deletes subscriptions (GET/DELETE /webhooks, [ours])")
def test_register_webhook_twice_leaves_one_subscription_with_the_new_secret(
    sandbox_settings: SandboxProcess,
) -> None:
    from checkout.services.spectra import get_spectra_client

    url = "https://shop.example.com/checkout/webhooks/spectra/"
    other = get_spectra_client().register_webhook(url="https://elsewhere.example.com/hooks/")
    printed = []
    for _ in range(2):
        out = io.StringIO()
        call_command("checkout_register_webhook", url=url, stdout=out)
        text = out.getvalue()
        secret = next(
            line.strip() for line in text.splitlines() if line.strip().startswith("whsec")
        )
        registered = text.split("Registered webhook ", 1)[1].split(".", 1)[0]
        printed.append((registered, secret))
    assert printed[0][1] != printed[1][1]
    assert f"Removed the earlier webhook {printed[0][0]}" in text
    hooks = get_spectra_client().list_webhooks()
    to_url = [str(h.id) for h in hooks if h.url == url]
    # Exactly one delivers to the URL: the one whose secret the second run printed.
    assert to_url == [printed[1][0]]
    assert str(other.id) in {str(h.id) for h in hooks}  # another URL's is left alone


@pytest.mark.parametrize("sandbox_contract", ["documented"], indirect=True)
def test_without_a_list_of_subscriptions_it_registers_and_says_what_to_delete(
    settings: Any, contract_sandbox: SandboxProcess
) -> None:
    contract_sandbox.reset()
    settings.CHECKOUT_SPECTRA_API_BASE = contract_sandbox.api_base
    settings.CHECKOUT_SPECTRA_COMMERCE_BASE = contract_sandbox.commerce_base
    settings.CHECKOUT_SPECTRA_API_KEY = LIVE_KEY
    clear_spectra_clients()
    out = io.StringIO()
    call_command(
        "checkout_register_webhook", url="https://shop.example.com/webhooks/spectra/", stdout=out
    )
    text = out.getvalue()
    assert any(line.strip().startswith("whsec") for line in text.splitlines())
    assert "delete the older subscription in the Spectra dashboard" in text
