"""The doctor's local checks (broker mode, email), and its Spectra checks over mocked HTTP."""

from __future__ import annotations

import pytest
import responses
from django.test import override_settings

from checkout.management.commands.checkout_doctor import (
    FAIL,
    OK,
    WARN,
    check_broker,
    check_email,
    check_spectra,
)
from checkout.services.spectra import SpectraClient

API = "http://spectra.test/api/v1"


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
    responses.get(f"{API}/webhooks", status=403, json=_error(403, "insufficient_scope"))
    results = {r.name: r for r in check_spectra(client)}
    assert results["Spectra scope orders:write"].status == OK
    assert results["Spectra scope webhooks:manage"].status == FAIL
    assert "webhooks:manage" in results["Spectra scope webhooks:manage"].detail


@responses.activate
def test_an_unreachable_api_names_the_base_url(client: SpectraClient) -> None:
    responses.get(f"{API}/products", status=503, json=_error(503, "unavailable"))
    (result,) = check_spectra(client)
    assert result.status == FAIL
    assert API in result.detail
