"""Requests through a proxy the settings do not trust are noticed: a log line, checkout.W031 or
W032 in ``manage.py check``, and the doctor's "Client address" line.

Behind an untrusted proxy every shopper has the proxy's address, so they all share one
rate limit; nothing at startup can see that, so the requests themselves are the evidence.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from checkout import proxies
from checkout.doctor import FAIL, OK, WARN
from checkout.doctor.site import check_client_address
from checkout.proxies import proxy_sightings_forget

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PROXY = "10.0.0.2"
SHOPPER = "203.0.113.9"
W031_TEXT = "every shopper behind the proxy shares one rate limit"


@pytest.fixture(autouse=True)
def _fresh(settings: Any) -> Iterator[None]:
    settings.CHECKOUT_TRUSTED_PROXY_COUNT = 0
    settings.CHECKOUT_TRUSTED_PROXIES = ()
    settings.SECURE_PROXY_SSL_HEADER = None
    cache.clear()
    proxy_sightings_forget()
    yield
    proxy_sightings_forget()


def place(client: Client, remote: str, forwarded: str | None = None) -> int:
    """POST to a rate-limited endpoint (its body is refused; the limiter counted it)."""
    extra: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    response = client.post(
        reverse("checkout:checkout-place"), data="{", content_type="application/json", **extra
    )
    return response.status_code


def check_output() -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("check", stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_forwarded_requests_without_a_trusted_proxy_raise_w031(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    assert "checkout.W031" not in check_output()
    with caplog.at_level(logging.WARNING, logger="checkout.proxies"):
        for _ in range(3):
            assert place(client, PROXY, forwarded=SHOPPER) == 400
    output = check_output()
    assert "checkout.W031" in output
    assert W031_TEXT in output
    assert "CHECKOUT_TRUSTED_PROXY_COUNT" in output  # the hint
    assert PROXY in output  # the address to trust
    # One log line per process, not per request.
    assert len([r for r in caplog.records if "X-Forwarded-For" in r.getMessage()]) == 1


def test_w031_goes_once_the_proxy_is_trusted(client: Client, settings: Any) -> None:
    place(client, PROXY, forwarded=SHOPPER)
    assert "checkout.W031" in check_output()
    settings.CHECKOUT_TRUSTED_PROXY_COUNT = 1
    settings.CHECKOUT_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert "checkout.W031" not in check_output()


def test_requests_without_the_header_raise_nothing(client: Client) -> None:
    place(client, SHOPPER)
    output = check_output()
    assert "checkout.W031" not in output
    assert "checkout.W032" not in output


def test_a_busy_site_writes_the_note_once_per_interval(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[str] = []

    class CountingCache:
        def set(self, key: str, *args: Any, **kwargs: Any) -> None:
            writes.append(key)
            cache.set(key, *args, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(cache, name)

    monkeypatch.setattr(proxies, "cache", CountingCache())
    for _ in range(20):
        place(client, PROXY, forwarded=SHOPPER)
    assert len(writes) == 1


def test_forwarded_requests_from_a_peer_outside_the_trusted_proxies_raise_w032(
    client: Client, settings: Any
) -> None:
    settings.CHECKOUT_TRUSTED_PROXY_COUNT = 1
    settings.CHECKOUT_TRUSTED_PROXIES = ["10.0.0.0/8"]
    place(client, PROXY, forwarded=SHOPPER)  # the trusted proxy: nothing to say
    assert "checkout.W032" not in check_output()
    place(client, "192.0.2.50", forwarded=SHOPPER)  # the real proxy, not listed
    output = check_output()
    assert "checkout.W032" in output
    assert "192.0.2.50" in output
    result = check_client_address()
    assert result.status == WARN
    assert "192.0.2.50" in result.detail


def test_the_doctor_fails_for_forwarded_requests_without_a_trusted_proxy(client: Client) -> None:
    result = check_client_address()
    assert result.status == OK
    assert "REMOTE_ADDR" in result.detail
    place(client, PROXY, forwarded=SHOPPER)
    result = check_client_address()
    assert result.status == FAIL
    assert W031_TEXT in result.detail
    assert "CHECKOUT_TRUSTED_PROXY_COUNT" in result.detail


def test_the_doctor_reports_a_trusted_proxy(settings: Any) -> None:
    settings.CHECKOUT_TRUSTED_PROXY_COUNT = 1
    settings.CHECKOUT_TRUSTED_PROXIES = ["10.0.0.0/8"]
    result = check_client_address()
    assert result.status == OK
    assert "X-Forwarded-For" in result.detail
    assert "10.0.0.0/8" in result.detail


def test_the_doctor_warns_when_a_proxy_is_declared_but_not_counted(settings: Any) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert check_client_address().status == WARN
