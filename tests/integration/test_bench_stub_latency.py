"""The bench stub's delay and jitter, over HTTP: every answer waits delay + up to jitter."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests

from bench.stubs import StubServer, StubState

pytestmark = pytest.mark.integration


@pytest.fixture
def stub() -> Iterator[str]:
    server = StubServer(("127.0.0.1", 0), StubState())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _ms(url: str) -> float:
    start = time.perf_counter()
    assert requests.get(url, timeout=5).status_code == 200
    return (time.perf_counter() - start) * 1000


def test_answers_wait_the_delay_plus_up_to_the_jitter(stub: str) -> None:
    cart = f"{stub}/commerce-api/v1/cart/bench-L3-x"
    assert _ms(cart) < 100
    config = requests.post(
        f"{stub}/_bench/config", json={"delay_ms": 150, "jitter_ms": 100}, timeout=5
    )
    assert config.json() == {"delay_ms": 150.0, "jitter_ms": 100.0}
    times = [_ms(cart) for _ in range(8)]
    assert all(150 <= t < 150 + 100 + 100 for t in times), times
    assert max(times) - min(times) > 5, times
    requests.post(f"{stub}/_bench/config", json={"delay_ms": 0, "jitter_ms": 0}, timeout=5)
    assert _ms(cart) < 100
