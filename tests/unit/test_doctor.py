"""The doctor's local checks (broker mode, email), and its Spectra checks over mocked HTTP."""

from __future__ import annotations

import socket
from typing import Any

import django
import pytest
import responses
from django.test import override_settings

from checkout.management.commands.checkout_doctor import (
    FAIL,
    OK,
    WARN,
    check_broker,
    check_customer_emails,
    check_email,
    check_spectra,
)
from checkout.services.spectra import SpectraClient

API = "http://spectra.test/api/v1"
SMTP = "django.core.mail.backends.smtp.EmailBackend"


@override_settings(CELERY_TASK_ALWAYS_EAGER=True)
def test_eager_tasks_are_a_warning_not_a_failure() -> None:
    assert check_broker(timeout=1).status == WARN


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="")
def test_no_broker_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    from celery import current_app

    # Other tests point the Celery app at their own brokers; this one has none.
    monkeypatch.setitem(current_app.conf, "broker_url", None)
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    result = check_broker(timeout=1)
    assert result.status == FAIL
    assert "CELERY_BROKER_URL" in result.detail


@override_settings(EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend")
def test_the_console_email_backend_is_a_warning() -> None:
    result = check_email(smtp=False)
    assert result.status == WARN
    assert "console" in result.detail


@override_settings(
    EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    DEFAULT_FROM_EMAIL="webmaster@localhost",
    CHECKOUT_EMAIL_FROM=None,
)
def test_the_default_sender_is_a_failure() -> None:
    assert check_email(smtp=False).status == FAIL


@override_settings(
    MAILERS={"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
)
def test_the_console_mailer_is_a_warning() -> None:
    # Django 6.1's MAILERS: reading EMAIL_BACKEND raises there once MAILERS is set.
    result = check_email(smtp=False)
    assert result.status == WARN
    assert "console" in result.detail


@override_settings(MAILERS={"notifications": {"BACKEND": SMTP}})
def test_mailers_without_a_default_is_a_failure() -> None:
    result = check_email(smtp=False)
    assert result.status == FAIL
    assert "'default'" in result.detail


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_smtp_that_refuses_is_a_failure(settings: Any) -> None:
    settings.EMAIL_BACKEND = SMTP
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _refused_port()
    result = check_email(smtp=True)
    assert result.status == FAIL
    assert "cannot connect" in result.detail


@pytest.mark.skipif(django.VERSION < (6, 1), reason="MAILERS is new in Django 6.1")
def test_a_default_mailer_that_refuses_is_a_failure(settings: Any) -> None:
    settings.MAILERS = {
        "default": {"BACKEND": SMTP, "OPTIONS": {"host": "127.0.0.1", "port": _refused_port()}}
    }
    result = check_email(smtp=True)
    assert result.status == FAIL
    assert "cannot connect" in result.detail


@pytest.fixture
def client() -> SpectraClient:
    return SpectraClient(api_base=API, api_key="spk_test_x", max_retries=0, cache_ttl=0)


def _error(status: int, code: str) -> dict[str, object]:
    return {"success": False, "error": {"code": code, "message": code}}


@responses.activate
def test_a_404_on_the_write_probe_means_the_scope_is_granted(client: SpectraClient) -> None:
    page = {
        "success": True,
        "data": [],
        "pagination": {"total": 0, "page": 1, "per_page": 1, "total_pages": 0},
    }
    responses.get(f"{API}/products", json=page)
    responses.get(f"{API}/orders", json=page)
    responses.patch(f"{API}/orders/999999999999/status", status=404, json=_error(404, "not_found"))
    responses.get(
        f"{API}/webhooks/999999999999/deliveries",
        status=403,
        json=_error(403, "insufficient_scope"),
    )
    results = {r.name: r for r in check_spectra(client)}
    assert results["Spectra scope orders:write"].status == OK
    assert results["Spectra scope webhooks:manage"].status == FAIL
    assert "webhooks:manage" in results["Spectra scope webhooks:manage"].detail


@responses.activate
def test_the_webhook_scope_probe_needs_no_webhook_list(client: SpectraClient) -> None:
    page = {
        "success": True,
        "data": [],
        "pagination": {"total": 0, "page": 1, "per_page": 1, "total_pages": 0},
    }
    responses.get(f"{API}/products", json=page)
    responses.get(f"{API}/orders", json=page)
    responses.patch(f"{API}/orders/999999999999/status", status=404, json=_error(404, "not_found"))
    responses.get(
        f"{API}/webhooks/999999999999/deliveries",
        status=404,
        json=_error(404, "webhook_not_found"),
    )
    # No GET /webhooks registered: calling it would fail the probe.
    results = {r.name: r for r in check_spectra(client)}
    assert results["Spectra scope webhooks:manage"].status == OK


@responses.activate
def test_an_unreachable_api_names_the_base_url(client: SpectraClient) -> None:
    responses.get(f"{API}/products", status=503, json=_error(503, "unavailable"))
    (result,) = check_spectra(client)
    assert result.status == FAIL
    assert API in result.detail


@override_settings(CHECKOUT_SPECTRA_API_KEY="spk_live_abc")
def test_a_live_key_with_both_senders_warns_of_double_emails() -> None:
    result = check_customer_emails()
    assert result.status == WARN
    assert "twice" in result.detail
    assert "confirmation" in result.detail


@override_settings(
    CHECKOUT_SPECTRA_API_KEY="spk_live_abc",
    CHECKOUT_EMAIL_SENDER={
        "confirmation": "spectra",
        "shipped": "spectra",
        "delivered": "spectra",
        "cancelled": "spectra",
        "refunded": "spectra",
    },
)
def test_a_live_key_leaving_every_kind_to_spectra_is_fine() -> None:
    assert check_customer_emails().status == OK


@override_settings(
    CHECKOUT_SPECTRA_API_KEY="spk_live_abc", CHECKOUT_SPECTRA_SENDS_CUSTOMER_EMAILS=False
)
def test_spectra_emails_switched_off_is_fine() -> None:
    assert check_customer_emails().status == OK


@override_settings(
    CHECKOUT_SPECTRA_SENDS_CUSTOMER_EMAILS=False,
    CHECKOUT_EMAIL_SENDER={"shipped": "spectra"},
)
def test_a_kind_nobody_sends_is_a_warning() -> None:
    result = check_customer_emails()
    assert result.status == WARN
    assert "nobody sends shipped" in result.detail


@override_settings(CHECKOUT_SPECTRA_API_KEY="spk_test_abc")
def test_a_test_key_cannot_double() -> None:
    assert check_customer_emails().status == OK
