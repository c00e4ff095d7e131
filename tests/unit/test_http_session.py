"""The service sessions read proxy and CA settings from the environment once, when built."""

from __future__ import annotations

import pytest
import requests
import responses
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool

from checkout.services.http import POOL_MAXSIZE, environment_proxies, service_session


def test_proxies_and_ca_bundle_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corp.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = service_session(["https://api.spectra.example"])
    assert session.trust_env is False
    assert session.proxies["https"] == "http://proxy.internal:3128"
    assert session.verify == "/etc/ssl/corp.pem"


def test_no_proxy_for_a_bypassed_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    session = service_session(["http://127.0.0.1:8000"])
    assert session.trust_env is False
    assert session.proxies == {}


def test_mixed_bases_keep_the_per_call_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost")
    bases = ["http://localhost:8000", "http://api.spectra.example"]
    assert environment_proxies(bases) is None
    assert service_session(bases).trust_env is True


@responses.activate
def test_the_environment_is_not_read_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    session = service_session(["https://api.spectra.example"])
    responses.get("https://api.spectra.example/ping", json={"ok": True})

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the environment was read on a call")

    monkeypatch.setattr("requests.sessions.get_environ_proxies", fail)
    monkeypatch.setattr("requests.sessions.get_netrc_auth", fail)
    assert session.get("https://api.spectra.example/ping", timeout=1).json() == {"ok": True}


def test_a_busy_worker_keeps_its_connections() -> None:
    """32 request threads and a round's calls share one session: each host keeps enough
    connections for all of them, not urllib3's default 10 (which it discarded under load)."""
    session = service_session(["https://api.spectradiag.com/api/v1"])
    for url in ("https://api.spectradiag.com/api/v1/orders", "http://127.0.0.1:8765/"):
        adapter = session.get_adapter(url)
        assert isinstance(adapter, HTTPAdapter)
        pool = adapter.get_connection_with_tls_context(
            requests.Request("GET", url).prepare(), verify=True
        )
        assert isinstance(pool, HTTPConnectionPool)
        assert pool.pool is not None
        assert pool.pool.maxsize == POOL_MAXSIZE >= 32
