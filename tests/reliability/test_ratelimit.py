"""The limiter itself: rule parsing, sliding windows per session and per address,
proxies, the decorator's JSON and form answers, and failing open without a cache; then
the same on real Redis, where a hit is one pipelined round trip."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
import redis
from django import forms
from django.contrib.sessions.backends.cache import SessionStore
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from checkout import ratelimit
from checkout.ratelimit import (
    RateRule,
    client_ip,
    rate_limit_form_error,
    rate_limit_hit,
    rate_limited,
    rate_limits_validate,
)

pytestmark = [pytest.mark.integration]

T0 = 1_800_000_000.0  # a window boundary for 60 s and 600 s windows


@pytest.fixture(autouse=True)
def _clean_cache(settings: Any) -> None:
    settings.CHECKOUT_RATE_LIMITS = {
        "promo": ("3/m session", "5/m ip"),
        "pay": ("2/10m session",),
        "off": (),
    }
    settings.CHECKOUT_TRUSTED_PROXY_COUNT = 0
    cache.clear()


def request(ip: str = "203.0.113.7", session: str | None = "s-one", **meta: Any) -> HttpRequest:
    req = RequestFactory().post("/checkout/promo/", REMOTE_ADDR=ip, **meta)
    # Session keys shorter than 8 characters are not valid keys: pad them.
    req.session = SessionStore(session_key=f"{session}-key-padding") if session else SessionStore()
    return req


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("10/10m session", RateRule(10, 600, "session")),
        ("30/h ip", RateRule(30, 3600, "ip")),
        (" 5 / 30s  ip ", RateRule(5, 30, "ip")),
        ("100/d session", RateRule(100, 86400, "session")),
    ],
)
def test_rules_parse(text: str, rule: RateRule) -> None:
    assert RateRule.parse(text) == rule


@pytest.mark.parametrize("text", ["10 per minute", "10/10x ip", "10/m user", "/m ip", "10/0m ip"])
def test_bad_rules_are_configuration_errors(text: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        RateRule.parse(text)


def test_unknown_scope_and_bad_settings_are_reported(settings: Any) -> None:
    with pytest.raises(ImproperlyConfigured):
        rate_limit_hit(request=request(), scope="nope")
    settings.CHECKOUT_RATE_LIMITS = {"promo": ("ten a minute",)}
    assert rate_limits_validate()
    assert "promo" in rate_limits_validate()[0]


def test_session_limit_then_window_slides() -> None:
    req = request()
    allowed = [rate_limit_hit(request=req, scope="promo", now=T0 + i).allowed for i in range(5)]
    assert allowed == [True, True, True, False, False]
    refused = rate_limit_hit(request=req, scope="promo", now=T0 + 10)
    assert not refused
    assert refused.retry_after > 0
    assert refused.rule == RateRule(3, 60, "session")
    # The previous window's three hits still weigh until enough of it has slid out.
    assert not rate_limit_hit(request=req, scope="promo", now=T0 + 61)
    assert rate_limit_hit(request=req, scope="promo", now=T0 + 60 + refused.retry_after - 10)
    # Another session on the same address is not affected.
    assert rate_limit_hit(request=request(session="s-two"), scope="promo", now=T0 + 11)


def test_retry_after_is_honest() -> None:
    req = request()
    for i in range(3):
        assert rate_limit_hit(request=req, scope="promo", now=T0 + i)
    refused = rate_limit_hit(request=req, scope="promo", now=T0 + 30)
    assert not refused
    later = T0 + 30 + refused.retry_after
    assert rate_limit_hit(request=req, scope="promo", now=later)
    # ...and not a second earlier than needed (within the rounding of a second).
    cache.clear()
    for i in range(3):
        rate_limit_hit(request=req, scope="promo", now=T0 + i)
    assert not rate_limit_hit(request=req, scope="promo", now=later - 2)


def test_ip_limit_spans_sessions_and_refusals_do_not_count() -> None:
    results = [
        rate_limit_hit(request=request(session=f"s{i}"), scope="promo", now=T0 + i).allowed
        for i in range(8)
    ]
    assert results == [True] * 5 + [False] * 3
    # A session that was refused by the ip rule has not used up its own allowance.
    other_ip = request(ip="198.51.100.1", session="s5")
    assert [
        rate_limit_hit(request=other_ip, scope="promo", now=T0 + 9).allowed for _ in range(3)
    ] == [True] * 3


def test_no_session_counts_by_address_only() -> None:
    req = request(session=None)
    assert [rate_limit_hit(request=req, scope="promo", now=T0).allowed for _ in range(6)] == [
        True
    ] * 5 + [False]


def test_switched_off_scope_always_allows() -> None:
    assert all(rate_limit_hit(request=request(), scope="off", now=T0) for _ in range(100))


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(settings: Any) -> None:
    spoofed = request(ip="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    assert client_ip(spoofed) == "10.0.0.1"
    settings.CHECKOUT_TRUSTED_PROXY_COUNT = 1
    assert client_ip(spoofed) == "203.0.113.9"  # what our proxy saw, not the client's claim
    settings.CHECKOUT_TRUSTED_PROXY_COUNT = 2
    assert client_ip(spoofed) == "1.2.3.4"
    settings.CHECKOUT_TRUSTED_PROXY_COUNT = 3  # fewer entries than proxies: do not guess
    assert client_ip(spoofed) == "10.0.0.1"
    settings.CHECKOUT_TRUSTED_PROXY_COUNT = 1
    garbage = request(ip="10.0.0.1", HTTP_X_FORWARDED_FOR="<script>")
    assert client_ip(garbage) == "10.0.0.1"


def test_ipv6_counts_per_64() -> None:
    a = request(ip="2001:db8:1:2::1", session=None)
    b = request(ip="2001:db8:1:2:ffff::9", session=None)
    assert client_ip(a) == client_ip(b) == "2001:db8:1:2::/64"
    assert client_ip(request(ip="::ffff:203.0.113.5")) == "203.0.113.5"


def test_cache_down_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    with mock.patch.object(ratelimit, "cache") as broken:
        for name in ("get", "get_many", "add", "incr", "decr"):
            getattr(broken, name).side_effect = ConnectionError("redis down")
        assert rate_limit_hit(request=request(), scope="promo", now=T0)
    assert "not enforced" in caplog.text


# --- The decorator ---------------------------------------------------------------------


def _json_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("done")


class CodeForm(forms.Form):
    code = forms.CharField()


def _form_view(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST)
    if rate_limit_form_error(request, form):
        return HttpResponse(f"errors: {form.non_field_errors()[0]}", status=400)
    return HttpResponse("applied")


def test_decorator_answers_json_429_with_retry_after() -> None:
    view = rate_limited("pay")(_json_view)
    req = request()
    req.META["HTTP_ACCEPT"] = "application/json"
    assert view(req).status_code == 200
    assert view(req).status_code == 200
    refused = view(req)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    body = json.loads(refused.content)
    assert body["reason"] == body["error"]["code"] == "rate_limited"
    assert body["message"] == body["error"]["message"]
    assert "not charged" in body["message"]


def test_decorator_lets_a_form_view_show_the_message() -> None:
    view = rate_limited("pay", form_view=True)(_form_view)
    req = request()
    assert view(req).content == b"applied"
    assert view(req).content == b"applied"
    refused = view(req)
    assert refused.status_code == 429
    assert refused["Retry-After"]
    assert b"Too many payment attempts" in refused.content


def test_decorator_plain_page_and_get_is_not_counted() -> None:
    view = rate_limited("pay")(_json_view)
    get = RequestFactory().get("/x", REMOTE_ADDR="203.0.113.7")
    get.session = SessionStore()
    assert all(view(get).status_code == 200 for _ in range(10))
    req = request()
    view(req)
    view(req)
    refused = view(req)
    assert refused.status_code == 429
    assert b"Too many payment attempts" in refused.content


# --- On Redis: the same limits through Django's Redis cache -------------------------------

# A Redis db no other suite uses (the bench uses 14 and 15, the webhook suites 9).
REDIS_URL = "redis://127.0.0.1:6379/11"
REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"


@pytest.fixture
def on_redis(settings: Any) -> Iterator[redis.Redis]:
    """Make the default cache a Redis cache on db 11 (emptied); yield a raw client of it."""
    raw = redis.Redis.from_url(REDIS_URL)
    try:
        raw.flushdb()
    except redis.ConnectionError as err:  # a required service: fail, never skip
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {err}")
    settings.CACHES = {
        "default": {"BACKEND": REDIS_BACKEND, "LOCATION": REDIS_URL, "KEY_PREFIX": "rltest"}
    }
    yield raw
    raw.flushdb()
    raw.close()


def counts(req: HttpRequest, scope: str, now: float) -> list[int]:
    """The current bucket's count of each rule, as Django's cache API reads it."""
    return [int(cache.get(w.current_key) or 0) for w in ratelimit._windows(req, scope, now)]


def test_redis_allows_up_to_the_limit_then_refuses(on_redis: redis.Redis) -> None:
    req = request()
    assert [rate_limit_hit(request=req, scope="promo", now=T0 + i).allowed for i in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    refused = rate_limit_hit(request=req, scope="promo", now=T0 + 30)
    assert not refused
    assert refused.rule == RateRule(3, 60, "session")
    # The rest of this window, then until 3 * (1 - 40/60) + 1 fits under 3: 30 + 20 s.
    assert refused.retry_after == 50
    assert not rate_limit_hit(request=req, scope="promo", now=T0 + 79)
    assert rate_limit_hit(request=req, scope="promo", now=T0 + 80)
    # The keys are the cache's own: prefixed and versioned like every other cache key.
    assert on_redis.keys("rltest:1:checkout:rl:promo:*")
    # A raw client without decode_responses: every key is bytes.
    assert all(isinstance(k, bytes) and k.startswith(b"rltest:1:") for k in on_redis.keys("*"))


def test_redis_refused_hits_count_nowhere(on_redis: redis.Redis) -> None:
    req = request()
    for i in range(3):
        assert rate_limit_hit(request=req, scope="promo", now=T0 + i)
    for i in range(3, 59):
        assert not rate_limit_hit(request=req, scope="promo", now=T0 + i)
    assert counts(req, "promo", T0 + 59) == [3, 3]
    # Had the refusals counted, the previous window would still weigh far over the limit.
    assert not rate_limit_hit(request=req, scope="promo", now=T0 + 60)
    assert rate_limit_hit(request=req, scope="promo", now=T0 + 80)
    assert counts(req, "promo", T0 + 80) == [1, 1]


def test_redis_refusal_by_one_rule_takes_the_hit_back_from_all(on_redis: redis.Redis) -> None:
    # The ip rule (second) refuses: the session rule's count is taken back.
    for i in range(5):
        assert rate_limit_hit(request=request(session=f"s{i}"), scope="promo", now=T0 + i)
    late = request(session="s5")
    refused = rate_limit_hit(request=late, scope="promo", now=T0 + 5)
    assert not refused
    assert refused.rule == RateRule(5, 60, "ip")
    assert counts(late, "promo", T0 + 5) == [0, 5]
    # The session rule (first) refuses: the ip rule's count, taken in the same round
    # trip, is taken back too.
    on_redis.flushdb()
    req = request()
    for i in range(3):
        assert rate_limit_hit(request=req, scope="promo", now=T0 + i)
    refused = rate_limit_hit(request=req, scope="promo", now=T0 + 3)
    assert refused.rule == RateRule(3, 60, "session")
    assert counts(req, "promo", T0 + 3) == [3, 3]


def test_redis_weighs_the_previous_window(on_redis: redis.Redis) -> None:
    req = request()
    for i in range(3):
        assert rate_limit_hit(request=req, scope="promo", now=T0 + i)
    # Half-way through the next window the previous three weigh 1.5: one more fits.
    assert rate_limit_hit(request=req, scope="promo", now=T0 + 90)
    refused = rate_limit_hit(request=req, scope="promo", now=T0 + 90)
    assert not refused
    # 3 * (1 - elapsed/60) + 2 <= 3 once a third of the previous window is left: 10 s on.
    assert refused.retry_after == 10
    assert not rate_limit_hit(request=req, scope="promo", now=T0 + 99)
    assert rate_limit_hit(request=req, scope="promo", now=T0 + 100)


def test_redis_down_fails_open(settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": REDIS_BACKEND,
            "LOCATION": f"redis://127.0.0.1:{port}/11",
        }
    }
    assert all(rate_limit_hit(request=request(), scope="promo", now=T0) for _ in range(5))
    assert "not enforced" in caplog.text
