"""The budget of Spectra calls that background work (reconciliation, sweeps) may spend.

Shoppers' calls and background calls share one API key and its rate limit (Free 100/hour,
Standard 1,000/hour). Background work takes at most ``CHECKOUT_BACKGROUND_CALL_SHARE`` of
``CHECKOUT_SPECTRA_HOURLY_LIMIT`` per clock hour (default 20% of a Standard key: 200), spread
over the hour's reconciliation passes, so shoppers always keep the rest. A 429 on a
background call stops background calls until its ``Retry-After`` has passed (at least a
minute): the key is out, and what is left belongs to shoppers.

Counters live in Django's cache (Redis in production), so every worker shares them; a
lost counter only lets one hour spend up to its budget again.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

from checkout.conf import app_settings

logger = logging.getLogger(__name__)

# Reconciliation runs every five minutes (tasks.CHECKOUT_BEAT_SCHEDULE): twelve passes an
# hour share the hour's budget, so one pass never spends it all.
PASSES_PER_HOUR = 12
MIN_BACKOFF_SECONDS = 60.0
_BACKOFF_KEY = "checkout:budget:backoff-until"


def _hour_key(now: float | None = None) -> str:
    return f"checkout:budget:calls:{int((now or time.time()) // 3600)}"


@dataclass(frozen=True)
class BudgetStatus:
    """The background budget as it stands; ``per_hour`` None means no limit is set."""

    hourly_limit: int | None
    share: float
    per_hour: int | None
    used_this_hour: int
    backoff_until: dt.datetime | None

    @property
    def remaining(self) -> int | None:
        """Calls left this hour (None: unlimited)."""
        if self.per_hour is None:
            return None
        return max(0, self.per_hour - self.used_this_hour)

    @property
    def backing_off(self) -> bool:
        """Whether a recent 429 stops background calls now."""
        return self.backoff_until is not None and self.backoff_until > timezone.now()


def background_budget() -> BudgetStatus:
    """Return the background budget and what this hour has spent."""
    limit = app_settings.SPECTRA_HOURLY_LIMIT
    share = app_settings.BACKGROUND_CALL_SHARE
    per_hour = None if limit is None else math.floor(limit * share)
    used = int(cache.get(_hour_key()) or 0)
    until = cache.get(_BACKOFF_KEY)
    return BudgetStatus(
        hourly_limit=limit,
        share=share,
        per_hour=per_hour,
        used_this_hour=used,
        backoff_until=until if isinstance(until, dt.datetime) else None,
    )


def background_calls_allowed(*, want: int) -> int:
    """How many of ``want`` calls one background pass may make now (0 while backing off)."""
    status = background_budget()
    if status.backing_off:
        return 0
    if status.per_hour is None:
        return want
    per_pass = max(1, math.ceil(status.per_hour / PASSES_PER_HOUR))
    return max(0, min(want, per_pass, status.remaining or 0))


def background_calls_spent(count: int = 1) -> None:
    """Count ``count`` background calls against this hour's budget."""
    if count <= 0:
        return
    key = _hour_key()
    cache.add(key, 0, timeout=2 * 3600)
    try:
        cache.incr(key, count)
    except ValueError:  # expired between add and incr
        cache.set(key, count, timeout=2 * 3600)


def background_back_off(*, retry_after: float | None) -> dt.datetime:
    """Stop background calls after a 429 until ``retry_after`` seconds (at least a minute)."""
    seconds = max(MIN_BACKOFF_SECONDS, float(retry_after or 0))
    until = timezone.now() + dt.timedelta(seconds=seconds)
    cache.set(_BACKOFF_KEY, until, timeout=int(seconds) + 1)
    logger.warning("background Spectra calls paused for %.0f s after a 429", seconds)
    return until
