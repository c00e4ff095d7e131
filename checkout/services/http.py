"""HTTP sessions for the outside services (Spectra, Stripe): the environment read once.

``requests`` re-reads the process environment on every call of a session that trusts it
(``HTTP(S)_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``; and ``~/.netrc`` when the call
has no credentials of its own), a walk over ``os.environ`` that was a large share of a
pay request's CPU (docs/performance.md). The environment of a server process does not
change while it runs, so ``service_session`` reads it once, when the client is built,
and turns the per-call lookup off. Proxies and CA bundles from the environment keep
working exactly as before.

Each session also keeps up to ``POOL_MAXSIZE`` connections per host. A worker's threads
(gunicorn's request threads, and the pool that makes a round of calls at once) share the
client; with urllib3's default of 10, a busy worker opened and then discarded a connection
for most calls ("Connection pool is full" in the load test, docs/performance.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

__all__ = ["POOL_MAXSIZE", "environment_proxies", "service_session"]

# Connections kept per host: gunicorn's 32 threads per worker plus the round pool's calls.
POOL_MAXSIZE = 64


def environment_proxies(base_urls: Iterable[str]) -> dict[str, str] | None:
    """Return the proxies the environment sets for these base URLs.

    ``None`` when the bases disagree (one host is in ``NO_PROXY``, another is not): then
    only the per-call lookup gets every URL right.
    """
    found = [get_environ_proxies(url) for url in base_urls if url]
    if not found:
        return {}
    first = found[0]
    return first if all(p == first for p in found[1:]) else None


def service_session(base_urls: Iterable[str]) -> requests.Session:
    """Return a ``requests.Session`` with the environment's proxy and CA settings read once."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_maxsize=POOL_MAXSIZE)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    proxies = environment_proxies(base_urls)
    if proxies is None:
        return session  # mixed NO_PROXY: leave requests to decide per call
    session.trust_env = False
    session.proxies.update(proxies)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return session
