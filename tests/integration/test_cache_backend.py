"""checkout.cache.RedisCache: Django's Redis cache with one client per pool, on real Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from checkout.cache import RedisCache

# A Redis db no other suite uses (the bench uses 14 and 15, the webhook suites 9).
URL = os.environ.get("CHECKOUT_TEST_CACHE_URL", "redis://127.0.0.1:6379/10")


@pytest.fixture
def cache() -> Iterator[RedisCache]:
    try:
        redis.Redis.from_url(URL).flushdb()
    except redis.ConnectionError as err:  # a required service: fail, never skip
        pytest.fail(f"Redis is not reachable at {URL}: {err}")
    backend = RedisCache(URL, {"KEY_PREFIX": "cachetest"})
    yield backend
    redis.Redis.from_url(URL).flushdb()


def test_one_client_serves_every_operation(cache: RedisCache) -> None:
    first = cache._cache.get_client(write=True)
    cache.set("a", {"n": 1}, 30)
    assert cache.get("a") == {"n": 1}
    assert cache._cache.get_client() is first
    assert cache._cache.get_client(write=True) is first


def test_behaves_as_djangos_backend(cache: RedisCache) -> None:
    django_backend = DjangoRedisCache(URL, {"KEY_PREFIX": "cachetest"})
    cache.set("shared", [1, 2, 3], 30)
    assert django_backend.get("shared") == [1, 2, 3]
    assert cache.add("counter", 5, 30) is True
    assert cache.add("counter", 9, 30) is False
    assert cache.incr("counter") == 6
    assert django_backend.get("counter") == 6
    cache.set_many({"x": 1, "y": "two"}, 30)
    assert cache.get_many(["x", "y", "missing"]) == {"x": 1, "y": "two"}
    cache.delete("x")
    assert cache.get("x", "gone") == "gone"
    with pytest.raises(ValueError, match="not found"):
        cache.incr("missing")
