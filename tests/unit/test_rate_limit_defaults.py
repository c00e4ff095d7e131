"""The default rate limits let a crowd behind one address pay, and still stop abuse.

Hundreds of shoppers can share one public address (an office, a mobile carrier's NAT): on
a sale day they must not be throttled together. One session is still cut off at its own
limit, and one address's sustained flood of payments is cut off within the hour.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.backends.cache import SessionStore
from django.core.cache import cache
from django.http import HttpRequest
from django.test import RequestFactory

from checkout.conf import DEFAULTS
from checkout.ratelimit import rate_limit_hit

NAT = "198.51.100.20"  # one public address for every shopper below
T0 = 86_400.0 * 20_834  # a day boundary, so every window starts here


@pytest.fixture(autouse=True)
def _defaults(settings: Any) -> None:
    # Thousands of sessions: LocMem's default 300 entries would evict the address's
    # buckets (a shared cache such as Redis keeps them all).
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "rate-limit-defaults",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
    settings.CHECKOUT_RATE_LIMITS = DEFAULTS["RATE_LIMITS"]
    settings.CHECKOUT_TRUSTED_PROXY_COUNT = 0
    cache.clear()


def shopper(session: str, ip: str = NAT) -> HttpRequest:
    request = RequestFactory().post("/checkout/pay/", REMOTE_ADDR=ip)
    request.session = SessionStore(session_key=f"shopper-{session:0>8}")
    return request


def test_200_shoppers_behind_one_address_all_pay_while_one_session_is_cut_off() -> None:
    refused = []
    for i in range(200):
        request = shopper(str(i))
        # The crowd of a sale announcement: all within seven minutes.
        moment = T0 + i * 2
        for scope in ("pay", "place"):
            if not rate_limit_hit(request=request, scope=scope, now=moment):
                refused.append((i, scope))
    assert refused == []
    # Twenty minutes later one of them keeps trying cards: their own session stops them
    # after 8...
    tester, later = shopper("0"), T0 + 1200
    allowed = [rate_limit_hit(request=tester, scope="pay", now=later + i) for i in range(9)]
    assert [bool(a) for a in allowed] == [True] * 8 + [False]
    assert allowed[-1].rule is not None
    assert allowed[-1].rule.key == "session"
    # ...and a neighbour behind the same address still pays.
    assert rate_limit_hit(request=shopper("neighbour"), scope="pay", now=later + 10)


def test_one_address_flooding_payments_is_cut_off_within_the_hour() -> None:
    # A script that drops its cookie each time: a new session per card, one card a second.
    allowed_at = []
    first_refusal = None
    for second in range(3600):
        result = rate_limit_hit(request=shopper(f"s{second}"), scope="pay", now=T0 + second)
        if result.allowed:
            allowed_at.append(second)
        elif first_refusal is None:
            first_refusal = result
    assert first_refusal is not None
    assert first_refusal.rule is not None
    assert first_refusal.rule.key == "ip"
    assert len([s for s in allowed_at if s < 600]) <= 200  # the ten-minute rule
    assert len(allowed_at) <= 1000  # the daily rule
    # Cut off for good before the hour is over (at about 50 minutes, by the daily rule)...
    assert not [s for s in allowed_at if s >= 3300]
    # ...nor for the rest of the day.
    later = rate_limit_hit(request=shopper("later"), scope="pay", now=T0 + 6 * 3600)
    assert not later.allowed
    # A shopper on another address pays as usual.
    assert rate_limit_hit(request=shopper("elsewhere", ip="203.0.113.5"), scope="pay", now=T0)
