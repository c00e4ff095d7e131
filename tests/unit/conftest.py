"""Fixtures for the unit tests: a Spectra client wired to ``responses``, with no waiting."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import responses
from django.core.cache import cache

from checkout.services.spectra import CallRecord, SpectraClient
from tests.unit.spectra_data import API, COMMERCE, KEY


@pytest.fixture
def spectra_sleeps() -> list[float]:
    """Collect the delays the client asked to sleep."""
    return []


@pytest.fixture
def spectra_calls() -> list[CallRecord]:
    """Collect the client's call records."""
    return []


@pytest.fixture
def spectra(
    spectra_sleeps: list[float], spectra_calls: list[CallRecord]
) -> Iterator[SpectraClient]:
    """Return a client with known settings, an instant sleep and a seeded jitter."""
    cache.clear()
    client = SpectraClient(
        api_base=API,
        commerce_base=COMMERCE,
        api_key=KEY,
        connect_timeout=1.5,
        read_timeout=7.0,
        order_timeout=25.0,
        max_retries=3,
        backoff_base=0.5,
        backoff_max=8.0,
        on_call=spectra_calls.append,
        sleep=spectra_sleeps.append,
        rng=random.Random(1234),
    )
    yield client
    client.close()
    cache.clear()


@pytest.fixture
def spectra_http() -> Iterator[responses.RequestsMock]:
    """Intercept HTTP; fail the test if a registered answer is never requested."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
