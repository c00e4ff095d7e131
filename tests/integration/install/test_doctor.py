"""``manage.py checkout_doctor`` against the sandbox and localstripe: passes, names each cause."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
import requests
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from checkout.services.spectra import get_spectra_client
from checkout.testing.servers import LocalstripeProcess, SandboxProcess, free_port
from checkout.testing.signing import sign_webhook_body
from tests.integration.install.smtp_stub import smtp_stub

# The doctor reads the stored webhook events: whether Spectra's and Stripe's deliveries verify.
pytestmark = [pytest.mark.integration, pytest.mark.django_db]

WEBHOOK_URL = "https://shop.example.com/webhooks/spectra/"
WEBHOOK_LIST = (
    "the doctor finds the webhook through GET /webhooks (without it: "
    "test_the_doctor_needs_no_webhook_list)"
)


@pytest.fixture
def mail_server() -> Iterator[int]:
    with smtp_stub() as port:
        yield port


@pytest.fixture
def configured(
    settings: Any, sandbox_reset: SandboxProcess, localstripe: LocalstripeProcess, mail_server: int
) -> SandboxProcess:
    """A configuration that should pass: sandbox, localstripe, Redis broker, a webhook, a
    mail server."""
    settings.CHECKOUT_SPECTRA_API_BASE = sandbox_reset.api_base
    settings.CHECKOUT_SPECTRA_COMMERCE_BASE = sandbox_reset.commerce_base
    settings.CHECKOUT_SPECTRA_API_KEY = sandbox_reset.test_key
    settings.CHECKOUT_STRIPE_API_BASE = localstripe.api_base
    settings.CHECKOUT_STRIPE_SECRET_KEY = localstripe.secret_key
    settings.CHECKOUT_STRIPE_PUBLISHABLE_KEY = localstripe.publishable_key
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/5"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = mail_server
    get_spectra_client().register_webhook(url=WEBHOOK_URL)
    return sandbox_reset


def doctor(*args: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("checkout_doctor", *args, stdout=out, no_color=True)
    except CommandError as err:
        return out.getvalue(), err
    return out.getvalue(), None


def line(output: str, name: str) -> str:
    return next(row for row in output.splitlines() if name in row)


@pytest.mark.default_contract(WEBHOOK_LIST)
def test_a_good_configuration_passes(configured: SandboxProcess) -> None:
    output, error = doctor()
    assert error is None, output
    for name in (
        "Spectra API key",
        "catalog:read",
        "orders:read",
        "orders:write",
        "webhooks:manage",
        "Spectra webhook",
        "Stripe",
        "Celery broker",
        "Email",
        "Payment form",
        "URLs",
        "Client address",
    ):
        assert line(output, name).startswith("[OK"), output
    # Registered, but nothing has been delivered yet: nothing proves the secret matches.
    assert line(output, "Spectra deliveries").startswith("[WARN"), output
    assert "Card Element (localstripe" in line(output, "Payment form")
    assert WEBHOOK_URL in output
    assert "All checks passed." in output
    assert "spk_test_sandbox" not in output  # never a secret


def test_a_wrong_key_fails_and_says_so(configured: SandboxProcess, settings: Any) -> None:
    settings.CHECKOUT_SPECTRA_API_KEY = "spk_test_not_a_real_key"
    output, error = doctor()
    assert error is not None
    assert "does not authenticate" in line(output, "Spectra API key")
    assert "spk_test_not_a_real_key" not in output


def test_a_missing_scope_is_named(configured: SandboxProcess, settings: Any) -> None:
    response = requests.post(
        f"{configured.control_base}/keys",
        json={"key": "spk_test_readonly", "scopes": ["catalog:read", "orders:read"]},
        timeout=5,
    )
    response.raise_for_status()
    settings.CHECKOUT_SPECTRA_API_KEY = "spk_test_readonly"
    output, error = doctor()
    assert error is not None
    assert line(output, "catalog:read").startswith("[OK")
    assert line(output, "orders:read").startswith("[OK")
    assert "lacks orders:write" in line(output, "orders:write")
    assert "lacks webhooks:manage" in line(output, "webhooks:manage")
    assert "orders:write" in str(error)


@pytest.mark.default_contract(WEBHOOK_LIST)
def test_an_unreachable_broker_fails(configured: SandboxProcess, settings: Any) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    output, error = doctor("--broker-timeout", "1")
    assert error is not None
    assert "cannot connect to redis://127.0.0.1:1/0" in line(output, "Celery broker")
    assert "Celery broker" in str(error)


@pytest.mark.default_contract(WEBHOOK_LIST)
def test_an_unregistered_webhook_url_fails(configured: SandboxProcess) -> None:
    output, error = doctor("--webhook-url", "https://elsewhere.example.com/webhooks/spectra/")
    assert error is not None
    assert "checkout_register_webhook" in line(output, "Spectra webhook")


@pytest.mark.default_contract(WEBHOOK_LIST)
def test_an_unreachable_stripe_fails(configured: SandboxProcess, settings: Any) -> None:
    settings.CHECKOUT_STRIPE_API_BASE = "http://127.0.0.1:1"
    output, error = doctor()
    assert error is not None
    assert line(output, "Stripe").startswith("[FAIL")


@pytest.mark.parametrize("sandbox_contract", ["documented"], indirect=True)
def test_the_doctor_needs_no_webhook_list(configured: SandboxProcess) -> None:
    from checkout.models import WebhookEvent

    output, error = doctor()
    assert error is None, output  # a warning, not a failure
    assert line(output, "webhooks:manage").startswith("[OK"), output
    assert line(output, "Spectra webhook").startswith("[WARN"), output
    assert "no signed delivery has arrived yet" in output

    WebhookEvent.objects.create(
        source=WebhookEvent.Source.SPECTRA,
        event_type="order.created",
        dedup_key="spectra:doctor",
        raw_body="{}",
        signature_valid=True,
    )
    output, error = doctor()
    assert error is None, output
    assert line(output, "Spectra webhook").startswith("[OK"), output
    assert "signed deliveries arrive" in output


def test_an_unreachable_mail_server_fails_unless_told_not_to_try(
    configured: SandboxProcess, settings: Any
) -> None:
    settings.EMAIL_PORT = free_port()  # nothing listens there
    output, error = doctor()
    assert error is not None
    assert "cannot connect" in line(output, "Email")
    assert "Email" in str(error)
    output, error = doctor("--no-smtp")
    assert error is None, output
    assert "connection not tried" in line(output, "Email")


@pytest.mark.default_contract(WEBHOOK_LIST)
def test_deliveries_refused_for_a_stale_secret_fail_although_a_subscription_exists(
    configured: SandboxProcess, client: Client
) -> None:
    # What Spectra sends when the subscription's secret is not the one the site stores.
    body = b'{"event":"order.created","timestamp":"2026-05-18T14:23:00+00:00","data":{"id":7}}'
    response = client.post(
        reverse("checkout:webhook-spectra"),
        data=body,
        content_type="application/json",
        headers={"X-Webhook-Signature": sign_webhook_body(body, "whsec_the_subscriptions")},
    )
    assert response.status_code == 401
    output, error = doctor()
    assert error is not None
    assert line(output, "Spectra webhook").startswith("[OK"), output  # it is registered...
    deliveries = line(output, "Spectra deliveries")
    assert deliveries.startswith("[FAIL"), output  # ...but nothing it sends verifies
    assert "the signing secret does not match the subscription's" in deliveries
    assert "Spectra deliveries" in str(error)
